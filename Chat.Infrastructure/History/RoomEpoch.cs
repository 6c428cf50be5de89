using System.Buffers.Text;
using System.Security.Cryptography;

namespace Chat.Infrastructure.History;

internal static class RoomEpoch
{
    /// <summary>128 random bits, URL-safe: a stream started afresh is never mistaken for one a client saw before.</summary>
    public static string New() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
}
