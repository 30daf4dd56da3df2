using System.Text;

namespace Platform.Etcd.Grpc.Hosting;

/// <summary>
/// A minimal HPACK (RFC 7541) decoder that keeps the peer encoder's dynamic table, and an encoder
/// that writes every field as a literal without indexing (so the receiving decoder's dynamic table
/// stays empty). Used only by <see cref="Http2AuthorityRewriter"/>.
/// </summary>
internal sealed class HpackDecoder
{
    private static readonly HuffmanNode s_huffmanRoot = BuildHuffmanTree();

    private readonly List<(byte[] Name, byte[] Value)> _dynamic = [];
    private int _dynamicSize;
    private int _maxSize = 4096;

    /// <summary>Decodes a complete header block; throws <see cref="InvalidDataException"/> on malformed input.</summary>
    public List<(byte[] Name, byte[] Value)> Decode(ReadOnlySpan<byte> block)
    {
        var fields = new List<(byte[] Name, byte[] Value)>();
        int position = 0;
        while (position < block.Length)
        {
            byte b = block[position];
            if ((b & 0x80) != 0)
            {
                int index = ReadInteger(block, ref position, 7);
                fields.Add(Lookup(index));
            }
            else if ((b & 0x40) != 0)
            {
                (byte[] name, byte[] value) = ReadLiteral(block, ref position, 6);
                fields.Add((name, value));
                Insert(name, value);
            }
            else if ((b & 0x20) != 0)
            {
                _maxSize = ReadInteger(block, ref position, 5);
                Evict(0);
            }
            else
            {
                fields.Add(ReadLiteral(block, ref position, 4));
            }
        }

        return fields;
    }

    private (byte[] Name, byte[] Value) ReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        int nameIndex = ReadInteger(block, ref position, prefixBits);
        byte[] name = nameIndex == 0 ? ReadString(block, ref position) : Lookup(nameIndex).Name;
        byte[] value = ReadString(block, ref position);
        return (name, value);
    }

    private (byte[] Name, byte[] Value) Lookup(int index)
    {
        if (index <= 0)
        {
            throw new InvalidDataException("HPACK index 0");
        }

        if (index < HpackTables.Static.Length)
        {
            (string name, string value) = HpackTables.Static[index];
            return (Encoding.Latin1.GetBytes(name), Encoding.Latin1.GetBytes(value));
        }

        int dynamicIndex = index - HpackTables.Static.Length;
        return dynamicIndex < _dynamic.Count ? _dynamic[dynamicIndex] : throw new InvalidDataException($"HPACK index {index} out of range");
    }

    private void Insert(byte[] name, byte[] value)
    {
        int size = name.Length + value.Length + 32;
        Evict(size);
        if (size <= _maxSize)
        {
            _dynamic.Insert(0, (name, value));
            _dynamicSize += size;
        }
    }

    private void Evict(int room)
    {
        while (_dynamic.Count > 0 && _dynamicSize + room > _maxSize)
        {
            (byte[] name, byte[] value) = _dynamic[^1];
            _dynamic.RemoveAt(_dynamic.Count - 1);
            _dynamicSize -= name.Length + value.Length + 32;
        }
    }

    private static int ReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        int mask = (1 << prefixBits) - 1;
        int value = block[position++] & mask;
        if (value < mask)
        {
            return value;
        }

        int shift = 0;
        while (true)
        {
            if (position >= block.Length || shift > 28)
            {
                throw new InvalidDataException("HPACK integer truncated or too large");
            }

            byte b = block[position++];
            value += (b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
    }

    private static byte[] ReadString(ReadOnlySpan<byte> block, ref int position)
    {
        if (position >= block.Length)
        {
            throw new InvalidDataException("HPACK string truncated");
        }

        bool huffman = (block[position] & 0x80) != 0;
        int length = ReadInteger(block, ref position, 7);
        if (position + length > block.Length)
        {
            throw new InvalidDataException("HPACK string truncated");
        }

        ReadOnlySpan<byte> raw = block.Slice(position, length);
        position += length;
        return huffman ? HuffmanDecode(raw) : raw.ToArray();
    }

    private static byte[] HuffmanDecode(ReadOnlySpan<byte> data)
    {
        var output = new List<byte>(data.Length * 2);
        HuffmanNode node = s_huffmanRoot;
        foreach (byte b in data)
        {
            for (int bit = 7; bit >= 0; bit--)
            {
                node = ((b >> bit) & 1) == 0 ? node.Zero! : node.One!;
                if (node is null)
                {
                    throw new InvalidDataException("invalid HPACK Huffman code");
                }

                if (node.Symbol >= 0)
                {
                    output.Add((byte)node.Symbol);
                    node = s_huffmanRoot;
                }
            }
        }

        // What remains is padding: a prefix of the EOS code (all ones), checked loosely.
        return [.. output];
    }

    private static HuffmanNode BuildHuffmanTree()
    {
        var root = new HuffmanNode();
        for (int symbol = 0; symbol < 256; symbol++)
        {
            uint code = HpackTables.HuffmanCodes[symbol];
            int length = HpackTables.HuffmanLengths[symbol];
            HuffmanNode node = root;
            for (int bit = length - 1; bit >= 0; bit--)
            {
                bool one = ((code >> bit) & 1) != 0;
                ref HuffmanNode? next = ref one ? ref node.One : ref node.Zero;
                next ??= new HuffmanNode();
                node = next;
            }

            node.Symbol = symbol;
        }

        return root;
    }

    private sealed class HuffmanNode
    {
        // Fields, not properties: the tree builder takes them by ref.
        public HuffmanNode? Zero;
        public HuffmanNode? One;

        public int Symbol { get; set; } = -1;
    }
}

/// <summary>Writes header fields as HPACK literals without indexing, names and values raw (no Huffman).</summary>
internal static class HpackEncoder
{
    public static byte[] Encode(IEnumerable<(byte[] Name, byte[] Value)> fields)
    {
        var output = new List<byte>(256);
        foreach ((byte[] name, byte[] value) in fields)
        {
            output.Add(0x00);
            WriteString(output, name);
            WriteString(output, value);
        }

        return [.. output];
    }

    private static void WriteString(List<byte> output, byte[] value)
    {
        WriteInteger(output, value.Length, 7, 0x00);
        output.AddRange(value);
    }

    private static void WriteInteger(List<byte> output, int value, int prefixBits, byte flags)
    {
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            output.Add((byte)(flags | value));
            return;
        }

        output.Add((byte)(flags | max));
        value -= max;
        while (value >= 0x80)
        {
            output.Add((byte)((value & 0x7f) | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }
}
