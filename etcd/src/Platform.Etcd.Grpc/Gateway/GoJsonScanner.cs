using System.Text;

namespace Platform.Etcd.Grpc.Gateway;

/// <summary>
/// Go's <c>encoding/json</c> syntax checker re-expressed: a byte-at-a-time state machine whose
/// errors read exactly as Go's ("invalid character 'x' looking for beginning of value",
/// "unexpected EOF", ...), because the gateway's clients see these texts. Two modes, as Go has:
/// <see cref="FirstValue"/> is <c>json.Decoder.Decode</c> (the gateway reads one value from the
/// body and ignores what follows it), <see cref="Check"/> is <c>json.Unmarshal</c>'s whole-input
/// check.
/// </summary>
internal sealed class GoJsonScanner
{
    private const int MaxNestingDepth = 10000;
    private readonly List<Parse> _parse = [];
    private State _state = State.BeginValue;
    private bool _endTop;

    private enum State
    {
        BeginValueOrEmpty, BeginValue, BeginStringOrEmpty, BeginString, EndValue, EndTop,
        InString, InStringEsc, InStringEscU, InStringEscU1, InStringEscU12, InStringEscU123,
        Neg, One, Zero, Dot, Dot0, E, ESign, E0,
        T, Tr, Tru, F, Fa, Fal, Fals, N, Nu, Nul, Error,
    }

    private enum Parse
    {
        ObjectKey,
        ObjectValue,
        ArrayValue,
    }

    private enum Step
    {
        Continue,
        EndComposite,
        End,
        Error,
    }

    private string? Failure { get; set; }

    /// <summary>
    /// Finds the first JSON value of <paramref name="body"/> as Go's <c>json.Decoder</c> reads it.
    /// </summary>
    /// <returns>Null when the value is well formed (<paramref name="start"/>/<paramref name="end"/>
    /// delimit it; <paramref name="empty"/> when the body is only white space, Go's io.EOF);
    /// otherwise Go's error text.</returns>
    public static string? FirstValue(ReadOnlySpan<byte> body, out int start, out int end, out bool empty)
    {
        var scanner = new GoJsonScanner();
        start = 0;
        end = 0;
        empty = false;
        while (start < body.Length && IsSpace(body[start]))
        {
            start++;
        }

        if (start == body.Length)
        {
            empty = true;
            return null;
        }

        for (int i = start; i < body.Length; i++)
        {
            switch (scanner.Next(body[i]))
            {
                case Step.End:
                    end = i;
                    return null;
                case Step.EndComposite when scanner.EndValue((byte)' ') == Step.End:
                    end = i + 1;
                    return null;
                case Step.Error:
                    return scanner.Failure;
            }
        }

        // At the end of the input a number or literal may end; anything else was cut short.
        if (scanner.Next((byte)' ') == Step.End)
        {
            end = body.Length;
            return null;
        }

        return "unexpected EOF";
    }

    /// <summary>Go's <c>checkValid</c> (what <c>json.Unmarshal</c> runs first): null or Go's error text.</summary>
    public static string? Check(ReadOnlySpan<byte> data)
    {
        var scanner = new GoJsonScanner();
        foreach (byte c in data)
        {
            if (scanner.Next(c) == Step.Error)
            {
                return scanner.Failure;
            }
        }

        if (scanner.Failure is not null)
        {
            return scanner.Failure;
        }

        if (scanner._endTop)
        {
            return null;
        }

        scanner.Next((byte)' ');
        return scanner._endTop ? null : scanner.Failure ?? "unexpected end of JSON input";
    }

    /// <summary>Go's <c>quoteChar</c>: how a byte is shown in a syntax error.</summary>
    public static string QuoteChar(byte c)
    {
        if (c == '\'')
        {
            return @"'\''";
        }

        if (c == '"')
        {
            return "'\"'";
        }

        // strconv.Quote(string(c)): the byte as the rune U+00XX.
        string inner = c switch
        {
            0x07 => @"\a",
            0x08 => @"\b",
            0x0C => @"\f",
            (byte)'\n' => @"\n",
            (byte)'\r' => @"\r",
            (byte)'\t' => @"\t",
            0x0B => @"\v",
            (byte)'\\' => @"\\",
            < 0x20 or 0x7F => $@"\x{c:x2}",
            >= 0x80 and < 0xA1 or 0xAD => $@"\u{c:x4}",
            _ => ((char)c).ToString(),
        };
        return "'" + inner + "'";
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static bool IsDigit(byte c) => c is >= (byte)'0' and <= (byte)'9';

    private static bool IsHex(byte c) => IsDigit(c) || c is >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    private Step Next(byte c) => _state switch
    {
        State.BeginValueOrEmpty => IsSpace(c) ? Step.Continue : c == ']' ? EndValue(c) : BeginValue(c),
        State.BeginValue => BeginValue(c),
        State.BeginStringOrEmpty => BeginStringOrEmpty(c),
        State.BeginString => BeginString(c),
        State.EndValue => EndValue(c),
        State.EndTop => EndTop(c),
        State.InString => InString(c),
        State.InStringEsc => c is (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t' or (byte)'\\' or (byte)'/' or (byte)'"'
            ? Go(State.InString)
            : c == 'u' ? Go(State.InStringEscU) : Fail(c, "in string escape code"),
        State.InStringEscU => IsHex(c) ? Go(State.InStringEscU1) : Fail(c, "in \\u hexadecimal character escape"),
        State.InStringEscU1 => IsHex(c) ? Go(State.InStringEscU12) : Fail(c, "in \\u hexadecimal character escape"),
        State.InStringEscU12 => IsHex(c) ? Go(State.InStringEscU123) : Fail(c, "in \\u hexadecimal character escape"),
        State.InStringEscU123 => IsHex(c) ? Go(State.InString) : Fail(c, "in \\u hexadecimal character escape"),
        State.Neg => c == '0' ? Go(State.Zero) : c is >= (byte)'1' and <= (byte)'9' ? Go(State.One) : Fail(c, "in numeric literal"),
        State.One => IsDigit(c) ? Step.Continue : Zero(c),
        State.Zero => Zero(c),
        State.Dot => IsDigit(c) ? Go(State.Dot0) : Fail(c, "after decimal point in numeric literal"),
        State.Dot0 => IsDigit(c) ? Step.Continue : c is (byte)'e' or (byte)'E' ? Go(State.E) : EndValue(c),
        State.E => c is (byte)'+' or (byte)'-' ? Go(State.ESign) : ESign(c),
        State.ESign => ESign(c),
        State.E0 => IsDigit(c) ? Step.Continue : EndValue(c),
        State.T => Literal(c, 'r', State.Tr, "in literal true (expecting 'r')"),
        State.Tr => Literal(c, 'u', State.Tru, "in literal true (expecting 'u')"),
        State.Tru => c == 'e' ? Go(State.EndValue) : Fail(c, "in literal true (expecting 'e')"),
        State.F => Literal(c, 'a', State.Fa, "in literal false (expecting 'a')"),
        State.Fa => Literal(c, 'l', State.Fal, "in literal false (expecting 'l')"),
        State.Fal => Literal(c, 's', State.Fals, "in literal false (expecting 's')"),
        State.Fals => c == 'e' ? Go(State.EndValue) : Fail(c, "in literal false (expecting 'e')"),
        State.N => Literal(c, 'u', State.Nu, "in literal null (expecting 'u')"),
        State.Nu => Literal(c, 'l', State.Nul, "in literal null (expecting 'l')"),
        State.Nul => c == 'l' ? Go(State.EndValue) : Fail(c, "in literal null (expecting 'l')"),
        _ => Step.Error,
    };

    private Step Go(State next)
    {
        _state = next;
        return Step.Continue;
    }

    private Step Literal(byte c, char want, State next, string context) => c == want ? Go(next) : Fail(c, context);

    private Step BeginValue(byte c)
    {
        if (IsSpace(c))
        {
            return Step.Continue;
        }

        switch (c)
        {
            case (byte)'{':
                _state = State.BeginStringOrEmpty;
                return Push(Parse.ObjectKey);
            case (byte)'[':
                _state = State.BeginValueOrEmpty;
                return Push(Parse.ArrayValue);
            case (byte)'"':
                return Go(State.InString);
            case (byte)'-':
                return Go(State.Neg);
            case (byte)'0':
                return Go(State.Zero);
            case (byte)'t':
                return Go(State.T);
            case (byte)'f':
                return Go(State.F);
            case (byte)'n':
                return Go(State.N);
            case >= (byte)'1' and <= (byte)'9':
                return Go(State.One);
            default:
                return Fail(c, "looking for beginning of value");
        }
    }

    private Step BeginStringOrEmpty(byte c)
    {
        if (IsSpace(c))
        {
            return Step.Continue;
        }

        if (c == '}')
        {
            _parse[^1] = Parse.ObjectValue;
            return EndValue(c);
        }

        return BeginString(c);
    }

    private Step BeginString(byte c) => IsSpace(c) ? Step.Continue : c == '"' ? Go(State.InString) : Fail(c, "looking for beginning of object key string");

    private Step InString(byte c) => c switch
    {
        (byte)'"' => Go(State.EndValue),
        (byte)'\\' => Go(State.InStringEsc),
        < 0x20 => Fail(c, "in string literal"),
        _ => Step.Continue,
    };

    private Step Zero(byte c) => c switch
    {
        (byte)'.' => Go(State.Dot),
        (byte)'e' or (byte)'E' => Go(State.E),
        _ => EndValue(c),
    };

    private Step ESign(byte c) => IsDigit(c) ? Go(State.E0) : Fail(c, "in exponent of numeric literal");

    private Step EndValue(byte c)
    {
        if (_parse.Count == 0)
        {
            _state = State.EndTop;
            _endTop = true;
            return EndTop(c);
        }

        if (IsSpace(c))
        {
            _state = State.EndValue;
            return Step.Continue;
        }

        switch (_parse[^1])
        {
            case Parse.ObjectKey:
                if (c == ':')
                {
                    _parse[^1] = Parse.ObjectValue;
                    return Go(State.BeginValue);
                }

                return Fail(c, "after object key");
            case Parse.ObjectValue:
                if (c == ',')
                {
                    _parse[^1] = Parse.ObjectKey;
                    return Go(State.BeginString);
                }

                return c == '}' ? Pop() : Fail(c, "after object key:value pair");
            default:
                if (c == ',')
                {
                    return Go(State.BeginValue);
                }

                return c == ']' ? Pop() : Fail(c, "after array element");
        }
    }

    private Step EndTop(byte c)
    {
        if (!IsSpace(c) && Failure is null)
        {
            // Go complains about a non-space byte on the next call, and still ends the value.
            Failure = $"invalid character {QuoteChar(c)} after top-level value";
            _state = State.Error;
        }

        return Step.End;
    }

    private Step Push(Parse p)
    {
        _parse.Add(p);
        if (_parse.Count > MaxNestingDepth)
        {
            Failure = "exceeded max depth";
            _state = State.Error;
            return Step.Error;
        }

        return Step.Continue;
    }

    private Step Pop()
    {
        _parse.RemoveAt(_parse.Count - 1);
        if (_parse.Count == 0)
        {
            _state = State.EndTop;
            _endTop = true;
        }
        else
        {
            _state = State.EndValue;
        }

        return Step.EndComposite;
    }

    private Step Fail(byte c, string context)
    {
        _state = State.Error;
        Failure = new StringBuilder("invalid character ").Append(QuoteChar(c)).Append(' ').Append(context).ToString();
        return Step.Error;
    }
}
