using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Platform.CloudInit.Yaml;

/// <summary>A YAML syntax error: the 1-based line and go-yaml-style message (no "While parsing ..." prefix).</summary>
internal sealed record YamlSyntaxError(int Line, string Message);

/// <summary>
/// Loads the first document of a YAML text into <see cref="YamlNode"/>s with line numbers, using
/// YamlDotNet's event parser (no object mapping, so nothing about the text is lost).
/// </summary>
internal static partial class YamlLoader
{
    /// <summary>
    /// Parses <paramref name="text"/>. Returns the root (null for an empty document) or a syntax error.
    /// </summary>
    /// <param name="text">The whole document, header comment included.</param>
    /// <param name="normalizeKeys">Replace '-' with '_' in every mapping key, as coreos-cloudinit does.</param>
    public static (YamlNode? Root, YamlSyntaxError? Error) Load(string text, bool normalizeKeys)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        try
        {
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out _))
            {
                return (null, null);
            }

            if (parser.Accept<DocumentEnd>(out _))
            {
                return (null, null);
            }

            YamlNode root = ReadNode(parser, string.Empty, anchors, normalizeKeys);
            return (root, null);
        }
        catch (YamlException e)
        {
            return (null, new YamlSyntaxError((int)e.Start.Line, CleanMessage(e)));
        }
    }

    private static YamlNode ReadNode(IParser parser, string name, Dictionary<string, YamlNode> anchors, bool normalizeKeys)
    {
        ParsingEvent current = parser.Current ?? throw new YamlException("unexpected end of stream");
        int line = (int)current.Start.Line;
        switch (current)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                if (!anchors.TryGetValue(alias.Value.Value, out YamlNode? target))
                {
                    throw new YamlException(alias.Start, alias.End, $"unknown anchor '{alias.Value}' referenced");
                }

                return target.CloneAs(name, line);

            case Scalar scalar:
                {
                    parser.MoveNext();
                    YamlNode node = ScalarNode(scalar, name, line);
                    Remember(anchors, scalar.Anchor, node);
                    return node;
                }

            case SequenceStart sequence:
                {
                    parser.MoveNext();
                    var node = new YamlNode(name, YamlNodeKind.Sequence, line);
                    Remember(anchors, sequence.Anchor, node);
                    int index = 0;
                    while (!parser.TryConsume<SequenceEnd>(out _))
                    {
                        node.Children.Add(ReadNode(parser, $"{name}[{index}]", anchors, normalizeKeys));
                        index++;
                    }

                    return node;
                }

            case MappingStart mapping:
                {
                    parser.MoveNext();
                    var node = new YamlNode(name, YamlNodeKind.Map, line);
                    Remember(anchors, mapping.Anchor, node);
                    while (!parser.TryConsume<MappingEnd>(out _))
                    {
                        ParsingEvent keyEvent = parser.Current!;
                        int keyLine = (int)keyEvent.Start.Line;
                        YamlNode key = ReadNode(parser, string.Empty, anchors, normalizeKeys);
                        string keyName = key.Text ?? string.Empty;
                        if (normalizeKeys)
                        {
                            keyName = keyName.Replace('-', '_');
                        }

                        YamlNode value = ReadNode(parser, keyName, anchors, normalizeKeys);
                        value.Line = keyLine;
                        if (keyName == "<<" && key.Kind == YamlNodeKind.String)
                        {
                            // A merge key: the merged mappings' entries fill in keys not given explicitly.
                            Merge(node, value);
                            continue;
                        }

                        // A repeated key replaces the earlier value, as decoding into a Go map does.
                        int existing = node.Children.FindIndex(c => c.Name == keyName);
                        if (existing >= 0)
                        {
                            node.Children[existing] = value;
                        }
                        else
                        {
                            node.Children.Add(value);
                        }
                    }

                    return node;
                }

            default:
                throw new YamlException(current.Start, current.End, $"unexpected {current.GetType().Name}");
        }
    }

    private static void Merge(YamlNode target, YamlNode source)
    {
        IEnumerable<YamlNode> maps = source.Kind == YamlNodeKind.Sequence ? source.Children : [source];
        foreach (YamlNode map in maps.Where(m => m.Kind == YamlNodeKind.Map))
        {
            foreach (YamlNode entry in map.Children)
            {
                if (target.Child(entry.Name) is null)
                {
                    target.Children.Add(entry);
                }
            }
        }
    }

    private static YamlNode ScalarNode(Scalar scalar, string name, int line)
    {
        string tag = scalar.Tag.IsEmpty ? string.Empty : scalar.Tag.Value;
        if (tag is "tag:yaml.org,2002:binary" or "!!binary")
        {
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(string.Concat(scalar.Value.Where(c => !char.IsWhiteSpace(c))));
            }
            catch (FormatException)
            {
                throw new YamlException(scalar.Start, scalar.End, "!!binary value contains invalid base64 data");
            }

            return new YamlNode(name, YamlNodeKind.String, line) { Text = System.Text.Encoding.Latin1.GetString(bytes), Binary = bytes, Value = scalar.Value };
        }

        bool quoted = scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded;
        if (quoted || tag is "tag:yaml.org,2002:str" or "!!str")
        {
            return new YamlNode(name, YamlNodeKind.String, line) { Text = scalar.Value, Value = scalar.Value };
        }

        (YamlNodeKind kind, object? value) = ScalarResolver.Resolve(scalar.Value);
        return new YamlNode(name, kind, line) { Text = kind == YamlNodeKind.Null ? null : scalar.Value, Value = value };
    }

    private static void Remember(Dictionary<string, YamlNode> anchors, AnchorName anchor, YamlNode node)
    {
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = node;
        }
    }

    // YamlDotNet: "(Line: 2, Col: 6, Idx: 20) - (Line: 2, Col: 6, Idx: 20): While parsing a flow
    // sequence, did not find expected ',' or ']'." go-yaml (libyaml): "did not find expected ',' or ']'".
    private static string CleanMessage(YamlException e)
    {
        string message = MarkPrefix().Replace(e.Message, string.Empty);
        message = ContextPrefix().Replace(message, string.Empty);
        message = message.TrimEnd('.');
        message = message.Length > 0 ? char.ToLowerInvariant(message[0]) + message[1..] : message;

        // Where YamlDotNet words a problem differently from libyaml (and so go-yaml), use libyaml's.
        return message switch
        {
            "found invalid mapping" => "mapping values are not allowed in this context",
            _ => message,
        };
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();

    [GeneratedRegex(@"^While (parsing|scanning) [^,]+, ")]
    private static partial Regex ContextPrefix();
}
