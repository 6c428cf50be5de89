using System.Security.Cryptography;

namespace Chat.Infrastructure.Redis;

/// <summary>This server among those that share the chat: a fresh id per process, so a restarted one is a new replica.</summary>
public sealed class Replica
{
    public string Id { get; } = $"{Environment.ProcessId:x}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
}
