using System.Collections;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Platform.Etcd.Api.Tests;

/// <summary>
/// Fills every field of a message through its descriptor, so a field added to a .proto is
/// covered without touching the tests. Values are distinct per field (so two fields swapping
/// numbers cannot go unnoticed), non-default (so proto3 does not drop them) and awkward on the
/// wire: negative int64s take ten varint bytes, bytes hold 0x00 and 0xff, strings are non-ASCII.
/// Repeated fields get several elements; oneofs get one case per <c>variant</c>, and elements of
/// a repeated message field use successive variants, so every case of e.g. RequestOp appears.
/// </summary>
internal sealed class MessagePopulator
{
    // TxnRequest -> RequestOp -> TxnRequest recurses; three levels exercise nesting without
    // exploding the message size (each level multiplies by the repeated count).
    private const int MaxDepth = 3;
    private const int RepeatedCount = 2;

    private readonly Func<FieldDescriptor, bool> _include;

    /// <param name="include">Which fields to set; the others stay at their defaults.</param>
    public MessagePopulator(Func<FieldDescriptor, bool>? include = null)
    {
        _include = include ?? (_ => true);
    }

    /// <summary>Full names of every field this populator has set so far.</summary>
    public HashSet<string> FieldsSet { get; } = [];

    public IMessage Create(MessageDescriptor descriptor, int variant) => Create(descriptor, variant, depth: 0);

    private IMessage Create(MessageDescriptor descriptor, int variant, int depth)
    {
        var message = (IMessage)Activator.CreateInstance(descriptor.ClrType)!;
        if (depth >= MaxDepth)
        {
            return message;
        }

        foreach (FieldDescriptor field in descriptor.Fields.InFieldNumberOrder())
        {
            if (!_include(field))
            {
                continue;
            }

            OneofDescriptor? oneof = field.RealContainingOneof;
            if (oneof is not null && oneof.Fields[variant % oneof.Fields.Count] != field)
            {
                continue;
            }

            if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                for (int i = 0; i < RepeatedCount; i++)
                {
                    list.Add(Value(field, variant + i, depth, element: i));
                }
            }
            else
            {
                field.Accessor.SetValue(message, Value(field, variant, depth, element: 0));
            }

            FieldsSet.Add(field.FullName);
        }

        return message;
    }

    private object Value(FieldDescriptor field, int variant, int depth, int element)
    {
        // A per-field salt: field number, depth, element and variant all move the value.
        long salt = (field.FieldNumber * 1_000L) + (depth * 100L) + (element * 10L) + variant + 1;
        return field.FieldType switch
        {
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => -(0x1234_5678_9ABCL + salt),
            FieldType.UInt64 or FieldType.Fixed64 => 0xF000_0000_0000_0000UL + (ulong)salt,
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => -(int)(100_000 + salt),
            FieldType.UInt32 or FieldType.Fixed32 => 0xF000_0000u + (uint)salt,
            FieldType.Bool => true,
            FieldType.Double => salt + 0.25,
            FieldType.Float => salt + 0.5f,
            FieldType.String => $"{field.Name}#{salt} ü✓",
            FieldType.Bytes => ByteString.CopyFrom([0x00, 0xFF, .. Encoding.UTF8.GetBytes($"{field.Name}#{salt}"), 0x80]),
            FieldType.Enum => EnumValue(field.EnumType, salt),
            FieldType.Message => Create(field.MessageType, variant, depth + 1),
            _ => throw new NotSupportedException($"{field.FullName}: field type {field.FieldType}"),
        };
    }

    private static object EnumValue(EnumDescriptor enumType, long salt)
    {
        // Prefer non-zero values (zero is the proto3 default and would not be encoded).
        IList<EnumValueDescriptor> values = enumType.Values;
        EnumValueDescriptor value = values.Count == 1 ? values[0] : values[1 + (int)(salt % (values.Count - 1))];
        return Enum.ToObject(enumType.ClrType, value.Number);
    }
}
