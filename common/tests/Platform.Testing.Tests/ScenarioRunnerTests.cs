using System.Text;
using Platform.Testing.Scenarios;

namespace Platform.Testing.Tests;

public class ScenarioRunnerTests
{
    [Theory]
    [MemberData(nameof(Files))]
    public void Run_TestdataScenarios_MatchGoldenOutput(string file)
    {
        var machine = new StackMachine();
        ScenarioRunner.Run(Path.Combine(ScenarioRunner.SourceDirectory("testdata"), file), machine.Execute);
    }

    public static IEnumerable<object[]> Files() => ScenarioRunner.Files();

    [Fact]
    public void Run_OutputDiffers_ThrowsWithPositionAndBothOutputs()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(Run_OutputDiffers_ThrowsWithPositionAndBothOutputs));
        string path = dir.Combine("s.txt");
        File.WriteAllText(path, "push 1\n----\nok\n\ndump\n----\n2\n");

        ScenarioMismatchException ex = Assert.Throws<ScenarioMismatchException>(
            () => ScenarioRunner.Run(path, new StackMachine().Execute, rewrite: false));

        Assert.Equal("2", ex.Expected);
        Assert.Equal("1", ex.Actual);
        Assert.StartsWith($"{path}:5: dump", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_Rewrite_ReplacesOutputsAndKeepsComments()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(Run_Rewrite_ReplacesOutputsAndKeepsComments));
        string path = dir.Combine("s.txt");
        File.WriteAllText(path, "# header\npush 1 2\n----\nwrong\n\n# then\ndump\n----\n\ndump sep-blank=true\n----\n");

        ScenarioRunner.Run(path, new StackMachine().Execute, rewrite: true);

        Assert.Equal(
            "# header\npush 1 2\n----\nok\n\n# then\ndump\n----\n2\n1\n\ndump sep-blank=true\n----\n----\n2\n\n1\n----\n----\n",
            File.ReadAllText(path));
        // The rewritten file passes as is.
        ScenarioRunner.Run(path, new StackMachine().Execute, rewrite: false);
    }

    [Fact]
    public void Parse_MissingSeparator_NamesTheLine()
    {
        ScenarioException ex = Assert.Throws<ScenarioException>(() => ScenarioFile.Parse("x.txt", "push 1\n\n"));

        Assert.Equal("x.txt:1: push: expected \"----\" before a blank line", ex.Message);
    }

    [Fact]
    public void Parse_Arguments_AreTyped()
    {
        ScenarioFile file = ScenarioFile.Parse("x.txt", "cmd 1 2 id=3 voters=(1, 2,3) flag\n----\n");
        ScenarioCommand c = file.Blocks[0].Command;

        Assert.Equal(["1", "2", "flag"], c.Bare());
        Assert.Equal(3UL, c.GetUInt64("id"));
        Assert.Equal(["1", "2", "3"], c.GetAll("voters"));
        Assert.Equal(9, c.GetInt32("missing", 9));
        Assert.Throws<ScenarioException>(() => c.Get("voters"));
    }

    /// <summary>The system under test of the scenario files: a stack of integers.</summary>
    private sealed class StackMachine
    {
        private readonly Stack<int> _stack = new();

        public string Execute(ScenarioCommand command)
        {
            switch (command.Name)
            {
                case "push":
                    foreach (string v in command.Bare().Concat(command.GetAll("values")).Concat(command.Input.Split('\n', StringSplitOptions.RemoveEmptyEntries)))
                    {
                        _stack.Push(int.Parse(v, System.Globalization.CultureInfo.InvariantCulture));
                    }

                    return "ok";
                case "pop":
                    var popped = new StringBuilder();
                    for (int i = 0; i < command.GetInt32("n", 1); i++)
                    {
                        popped.Append(_stack.Pop()).Append('\n');
                    }

                    return popped.ToString();
                case "dump":
                    // sep-blank puts a blank line before the bottom item, to exercise multi-line output.
                    int[] items = [.. _stack];
                    return command.GetBool("sep-blank", false) && items.Length > 1
                        ? string.Join('\n', items[..^1]) + "\n\n" + items[^1]
                        : string.Join('\n', items);
                default:
                    throw new ScenarioException($"{command.Position}: unknown command {command.Name}");
            }
        }
    }
}
