using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Platform.Etcd.Grpc.Gateway;

/// <summary>
/// Reads a gateway request body the way etcd 3.4's grpc-gateway does (golang/protobuf's jsonpb
/// over Go's encoding/json), so that malformed input gets the same error texts: Go's syntax
/// errors, "json: cannot unmarshal X into Go value of type T", "illegal base64 data at input byte
/// N", "unknown value \"V\" for enum E". Semantics kept: only the first JSON value counts (the rest
/// of the body is ignored), white space only or <c>null</c> is an empty request, unknown fields
/// are ignored, a field may be named by its proto name or its JSON (lowerCamel) name, 64-bit and
/// 32-bit integers may be quoted, enums are names or numbers, bytes are strict base64.
/// A well-formed request is rewritten into canonical proto3 JSON and parsed by Google.Protobuf.
/// </summary>
internal static class JsonPbDecoder
{
    private static readonly JsonParser s_parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private static readonly JsonDocumentOptions s_documentOptions = new() { MaxDepth = 10_001 };

    /// <exception cref="GatewayDecodeException">Go's text for what is wrong.</exception>
    public static TRequest Decode<TRequest>(ReadOnlySpan<byte> body)
        where TRequest : IMessage<TRequest>, new()
    {
        string? error = GoJsonScanner.FirstValue(body, out int start, out int end, out bool empty);
        if (error is not null)
        {
            throw new GatewayDecodeException(error);
        }

        if (empty)
        {
            return new TRequest();
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body[start..end].ToArray(), s_documentOptions);
        }
        catch (JsonException e)
        {
            // Go accepts what System.Text.Json does not only in corner cases (invalid UTF-8).
            throw new GatewayDecodeException(e.Message);
        }

        using (document)
        {
            var output = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(output))
            {
                MessageDescriptor descriptor = new TRequest().Descriptor;
                if (document.RootElement.ValueKind == JsonValueKind.Null)
                {
                    return new TRequest();
                }

                WriteMessage(writer, document.RootElement, descriptor);
            }

            try
            {
                return s_parser.Parse<TRequest>(Encoding.UTF8.GetString(output.WrittenSpan));
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException)
            {
                throw new GatewayDecodeException(e.Message);
            }
        }
    }

    private static void WriteMessage(Utf8JsonWriter writer, JsonElement value, MessageDescriptor descriptor)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw CannotUnmarshal(Kind(value), "map[string]json.RawMessage");
        }

        // A Go map: the last of duplicate names wins.
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (JsonProperty property in value.EnumerateObject())
        {
            fields[property.Name] = property.Value;
        }

        writer.WriteStartObject();

        // jsonpb's order: the plain fields in declaration order, then the oneof members (the last
        // one present wins; Go's order among them is a map's, unspecified).
        var oneofs = new Dictionary<string, (FieldDescriptor Field, JsonElement Value)>(StringComparer.Ordinal);
        foreach (FieldDescriptor field in descriptor.Fields.InDeclarationOrder().OrderBy(f => f.RealContainingOneof is null ? 0 : 1))
        {
            // Both names present: the JSON (lowerCamel) name is favoured.
            bool found = fields.Remove(field.JsonName, out JsonElement item);
            if (fields.Remove(field.Name, out JsonElement orig) && !found)
            {
                item = orig;
                found = true;
            }

            if (!found || item.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (field.RealContainingOneof is { } oneof)
            {
                // Checked now (errors as Go's), written once below.
                using (var check = new Utf8JsonWriter(Stream.Null, new JsonWriterOptions { SkipValidation = true }))
                {
                    WriteField(check, field, item);
                }

                oneofs[oneof.Name] = (field, item);
                continue;
            }

            WriteField(writer, field, item);
        }

        foreach ((FieldDescriptor field, JsonElement item) in oneofs.Values)
        {
            WriteField(writer, field, item);
        }

        // What is left are fields the message does not have: the gateway ignores them.
        writer.WriteEndObject();
    }

    private static void WriteField(Utf8JsonWriter writer, FieldDescriptor field, JsonElement item)
    {
        writer.WritePropertyName(field.Name);
        if (field.IsRepeated && !field.IsMap)
        {
            if (item.ValueKind != JsonValueKind.Array)
            {
                throw CannotUnmarshal(Kind(item), "[]json.RawMessage");
            }

            writer.WriteStartArray();
            foreach (JsonElement element in item.EnumerateArray())
            {
                WriteSingle(writer, field, element);
            }

            writer.WriteEndArray();
        }
        else
        {
            WriteSingle(writer, field, item);
        }
    }

    private static void WriteSingle(Utf8JsonWriter writer, FieldDescriptor field, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            WriteDefault(writer, field);
            return;
        }

        switch (field.FieldType)
        {
            case FieldType.Message:
            case FieldType.Group:
                if (field.IsMap)
                {
                    throw new GatewayDecodeException($"map field {field.FullName} is not supported by the gateway");
                }

                WriteMessage(writer, value, field.MessageType);
                break;
            case FieldType.Enum:
                WriteEnum(writer, field.EnumType, value);
                break;
            case FieldType.Int64:
            case FieldType.SInt64:
            case FieldType.SFixed64:
                writer.WriteStringValue(ParseInteger(value, "int64", long.MinValue, long.MaxValue, quoted: true).ToString(CultureInfo.InvariantCulture));
                break;
            case FieldType.UInt64:
            case FieldType.Fixed64:
                writer.WriteStringValue(ParseUnsigned(value, "uint64", ulong.MaxValue).ToString(CultureInfo.InvariantCulture));
                break;
            case FieldType.Int32:
            case FieldType.SInt32:
            case FieldType.SFixed32:
                writer.WriteNumberValue(ParseInteger(value, "int32", int.MinValue, int.MaxValue, quoted: true));
                break;
            case FieldType.UInt32:
            case FieldType.Fixed32:
                writer.WriteNumberValue(ParseUnsigned(value, "uint32", uint.MaxValue));
                break;
            case FieldType.Bool:
                writer.WriteBooleanValue(value.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw CannotUnmarshal(Kind(value), "bool"),
                });
                break;
            case FieldType.String:
                writer.WriteStringValue(value.ValueKind == JsonValueKind.String ? value.GetString() : throw CannotUnmarshal(Kind(value), "string"));
                break;
            case FieldType.Bytes:
                writer.WriteBase64StringValue(ParseBytes(value));
                break;
            case FieldType.Double:
            case FieldType.Float:
                writer.WriteNumberValue(ParseFloat(value, field.FieldType == FieldType.Double ? "float64" : "float32"));
                break;
            default:
                throw new GatewayDecodeException($"unsupported field type {field.FieldType}");
        }
    }

    private static void WriteDefault(Utf8JsonWriter writer, FieldDescriptor field)
    {
        switch (field.FieldType)
        {
            case FieldType.Message:
            case FieldType.Group:
                writer.WriteStartObject();
                writer.WriteEndObject();
                break;
            case FieldType.String:
            case FieldType.Bytes:
                writer.WriteStringValue("");
                break;
            case FieldType.Bool:
                writer.WriteBooleanValue(false);
                break;
            default:
                writer.WriteNumberValue(0);
                break;
        }
    }

    private static void WriteEnum(Utf8JsonWriter writer, EnumDescriptor type, JsonElement value)
    {
        string goName = GoTypeName(type);
        if (value.ValueKind == JsonValueKind.String)
        {
            string name = value.GetString()!;
            EnumValueDescriptor? found = type.FindValueByName(name);
            if (found is null)
            {
                throw new GatewayDecodeException($"unknown value {GoQuote(name)} for enum {goName}");
            }

            writer.WriteNumberValue(found.Number);
            return;
        }

        writer.WriteNumberValue(ParseInteger(value, goName, int.MinValue, int.MaxValue, quoted: false));
    }

    /// <summary>jsonpb for integers: a quoted value loses its quotes, then encoding/json parses the rest.</summary>
    private static long ParseInteger(JsonElement value, string goType, long min, long max, bool quoted)
    {
        string raw = Unquoted(value, quoted, out JsonValueKind kind);
        if (kind != JsonValueKind.Number)
        {
            throw CannotUnmarshal(KindName(kind), goType);
        }

        if (!long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) || raw.StartsWith('+') || n < min || n > max)
        {
            throw CannotUnmarshal("number " + raw, goType);
        }

        return n;
    }

    private static ulong ParseUnsigned(JsonElement value, string goType, ulong max)
    {
        string raw = Unquoted(value, quoted: true, out JsonValueKind kind);
        if (kind != JsonValueKind.Number)
        {
            throw CannotUnmarshal(KindName(kind), goType);
        }

        if (!ulong.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) || n > max)
        {
            throw CannotUnmarshal("number " + raw, goType);
        }

        return n;
    }

    private static double ParseFloat(JsonElement value, string goType)
    {
        string raw = Unquoted(value, quoted: true, out JsonValueKind kind);
        if (kind != JsonValueKind.Number)
        {
            throw CannotUnmarshal(KindName(kind), goType);
        }

        return double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The raw JSON a number is read from: the value itself, or for a quoted value (when allowed)
    /// what is between the quotes, checked as a JSON document of its own (Go's json.Unmarshal).
    /// </summary>
    private static string Unquoted(JsonElement value, bool quoted, out JsonValueKind kind)
    {
        string raw = value.GetRawText();
        kind = value.ValueKind;
        if (!quoted || kind != JsonValueKind.String)
        {
            return raw;
        }

        string inner = raw[1..^1];
        byte[] bytes = Encoding.UTF8.GetBytes(inner);
        if (GoJsonScanner.Check(bytes) is { } error)
        {
            throw new GatewayDecodeException(error);
        }

        using var document = JsonDocument.Parse(bytes, s_documentOptions);
        kind = document.RootElement.ValueKind;
        if (kind == JsonValueKind.Null)
        {
            // json.Unmarshal of null leaves the zero value.
            kind = JsonValueKind.Number;
            return "0";
        }

        return document.RootElement.GetRawText();
    }

    /// <summary>encoding/json's []byte: strict standard base64 (CR and LF ignored), or an array of bytes.</summary>
    private static byte[] ParseBytes(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return DecodeBase64(value.GetString()!);
            case JsonValueKind.Array:
                var bytes = new List<byte>();
                foreach (JsonElement b in value.EnumerateArray())
                {
                    bytes.Add((byte)ParseInteger(b, "uint8", byte.MinValue, byte.MaxValue, quoted: false));
                }

                return [.. bytes];
            default:
                throw CannotUnmarshal(Kind(value), "[]uint8");
        }
    }

    /// <summary>Go's base64.StdEncoding.Decode, with its error offset (where the failing 4-byte quantum starts).</summary>
    private static byte[] DecodeBase64(string value)
    {
        byte[] text = Encoding.UTF8.GetBytes(value);
        var output = new List<byte>(text.Length * 3 / 4);
        int si = 0;
        Span<int> quantum = stackalloc int[4];
        while (si < text.Length)
        {
            int j = 0;
            int padding = 0;
            while (j < 4)
            {
                if (si == text.Length)
                {
                    if (j == 0)
                    {
                        return [.. output];
                    }

                    // Go: CorruptInputError(si - j) when the quantum is cut short.
                    throw IllegalBase64(si - j);
                }

                byte c = text[si++];
                if (c is (byte)'\r' or (byte)'\n')
                {
                    continue;
                }

                int v = Base64Value(c);
                if (c == '=')
                {
                    // Padding: valid only as the last one or two characters of a quantum.
                    if (j is 0 or 1)
                    {
                        throw IllegalBase64(si - 1);
                    }

                    if (j == 2)
                    {
                        // Skip line breaks, then a second '=' is required.
                        while (si < text.Length && text[si] is (byte)'\r' or (byte)'\n')
                        {
                            si++;
                        }

                        if (si == text.Length)
                        {
                            throw IllegalBase64(text.Length);
                        }

                        if (text[si] != '=')
                        {
                            throw IllegalBase64(si - 1);
                        }

                        si++;
                    }

                    while (si < text.Length && text[si] is (byte)'\r' or (byte)'\n')
                    {
                        si++;
                    }

                    if (si < text.Length)
                    {
                        // Trailing garbage after the padding.
                        throw IllegalBase64(si);
                    }

                    padding = 4 - j;
                    break;
                }

                if (v < 0)
                {
                    throw IllegalBase64(si - 1);
                }

                quantum[j++] = v;
            }

            int n = 4 - padding;
            int bits = 0;
            for (int k = 0; k < 4; k++)
            {
                bits = (bits << 6) | (k < n ? quantum[k] : 0);
            }

            output.Add((byte)(bits >> 16));
            if (n >= 3)
            {
                output.Add((byte)(bits >> 8));
            }

            if (n == 4)
            {
                output.Add((byte)bits);
            }

            if (padding > 0)
            {
                break;
            }
        }

        return [.. output];
    }

    private static int Base64Value(byte c) => c switch
    {
        >= (byte)'A' and <= (byte)'Z' => c - 'A',
        >= (byte)'a' and <= (byte)'z' => c - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => c - '0' + 52,
        (byte)'+' => 62,
        (byte)'/' => 63,
        _ => -1,
    };

    private static GatewayDecodeException IllegalBase64(int offset) => new($"illegal base64 data at input byte {offset}");

    private static GatewayDecodeException CannotUnmarshal(string what, string goType) => new($"json: cannot unmarshal {what} into Go value of type {goType}");

    private static string Kind(JsonElement value) => KindName(value.ValueKind);

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "null",
    };

    /// <summary>gogo's registered enum name: the package, then the nested type names joined by '_' (etcdserverpb.RangeRequest_SortOrder).</summary>
    private static string GoTypeName(EnumDescriptor type)
    {
        string package = type.File.Package;
        string nested = type.FullName[(package.Length + 1)..].Replace('.', '_');
        return package + "." + nested;
    }

    /// <summary>Go's %q for a string (strconv.Quote), for the printable texts enums are named with.</summary>
    private static string GoQuote(string s)
    {
        var quoted = new StringBuilder(s.Length + 2).Append('"');
        foreach (Rune r in s.EnumerateRunes())
        {
            switch (r.Value)
            {
                case '"':
                    quoted.Append("\\\"");
                    break;
                case '\\':
                    quoted.Append("\\\\");
                    break;
                case '\n':
                    quoted.Append("\\n");
                    break;
                case '\r':
                    quoted.Append("\\r");
                    break;
                case '\t':
                    quoted.Append("\\t");
                    break;
                case < 0x20 or 0x7F:
                    quoted.Append(CultureInfo.InvariantCulture, $"\\x{r.Value:x2}");
                    break;
                default:
                    quoted.Append(r.ToString());
                    break;
            }
        }

        return quoted.Append('"').ToString();
    }
}

/// <summary>A gateway request body the gateway's decoder refuses; the message is Go's text (gRPC code InvalidArgument).</summary>
internal sealed class GatewayDecodeException(string message) : Exception(message);
