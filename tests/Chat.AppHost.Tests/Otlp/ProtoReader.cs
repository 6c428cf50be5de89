namespace Chat.AppHost.Tests.Otlp;

/// <summary>One field of a protobuf message: a varint or fixed value in <see cref="Value"/>, or length-delimited bytes.</summary>
internal readonly record struct ProtoField(int Number, ulong Value, ReadOnlyMemory<byte> Bytes)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Bytes.Span);

    public string Hex => Convert.ToHexStringLower(Bytes.Span);

    public double Double => BitConverter.UInt64BitsToDouble(Value);
}

/// <summary>
/// Just enough of the protobuf wire format to read OTLP exports (varint, 64-bit, length-delimited, 32-bit), so the
/// test needs no protobuf package or generated OTLP types. Unknown fields are returned and ignored by the caller.
/// </summary>
internal static class ProtoReader
{
    public static List<ProtoField> Read(ReadOnlyMemory<byte> message)
    {
        var fields = new List<ProtoField>();
        var position = 0;
        var span = message.Span;
        while (position < span.Length)
        {
            var key = ReadVarint(span, ref position);
            var number = (int)(key >> 3);
            switch ((int)(key & 7))
            {
                case 0:
                    fields.Add(new ProtoField(number, ReadVarint(span, ref position), default));
                    break;
                case 1:
                    fields.Add(new ProtoField(number, BitConverter.ToUInt64(span.Slice(position, 8)), default));
                    position += 8;
                    break;
                case 2:
                    var length = checked((int)ReadVarint(span, ref position));
                    fields.Add(new ProtoField(number, 0, message.Slice(position, length)));
                    position += length;
                    break;
                case 5:
                    fields.Add(new ProtoField(number, BitConverter.ToUInt32(span.Slice(position, 4)), default));
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type in key {key} at byte {position}.");
            }
        }

        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = span[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException("Malformed protobuf varint.");
    }
}
