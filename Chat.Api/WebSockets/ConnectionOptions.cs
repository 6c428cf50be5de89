using Microsoft.Extensions.Options;

namespace Chat.Api.WebSockets;

/// <summary>Limits of one WebSocket connection, bound from the "Chat" configuration section.</summary>
public sealed class ConnectionOptions
{
    /// <summary>
    /// Frames queued for a client whose connection has taken no data for <see cref="SlowClientGrace"/> before it
    /// counts as too slow and is disconnected.
    /// </summary>
    public int OutboundQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// How long a write to a client may wait before the client counts as not reading. Shorter waits happen when the
    /// server itself is behind: its transport sends on the same cores.
    /// </summary>
    public TimeSpan SlowClientGrace { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Frames that may queue for a client whose connection still takes data while the server is behind (a burst,
    /// a busy core); past this it is disconnected too. The frames are shared by every recipient, so a queue costs a
    /// reference per frame. At 8192, about a quarter of a second of a 200-member room at seven million deliveries a
    /// second.
    /// </summary>
    public int OutboundQueueBurstCapacity { get; set; } = 8192;

    /// <summary>
    /// Largest incoming message in bytes, fragments included: room for 1000 family emoji (seven code points each)
    /// sent as \u-escaped JSON, about 66 KB.
    /// </summary>
    public int MaxMessageBytes { get; set; } = 128 * 1024;

    /// <summary>How often the server pings an idle client.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a ping may go unanswered before the connection is dropped and the user announced as gone.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a closing handshake may take before the socket is aborted.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Messages per second read from one client, sustained (token bucket refill rate). A faster sender is paced, not
    /// refused: its next message is read when its turn comes.
    /// </summary>
    public int MessagesPerSecond { get; set; } = 10;

    /// <summary>Messages a client may send in a burst before it is paced (token bucket size).</summary>
    public int MessageBurst { get; set; } = 20;

    /// <summary>Invalid messages in a row (unparseable or refused by validation) after which the client is closed.</summary>
    public int FloodDisconnectAfter { get; set; } = 50;

    /// <summary>Open chat connections in total; more upgrades are refused with 503.</summary>
    public int MaxConnections { get; set; } = 20_000;

    /// <summary>Open chat connections from one remote address; more upgrades are refused with 429.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 100;

    /// <summary>How long a client may take to send its request headers (the upgrade request included).</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the name of a client that vanished without closing stays in its room, so that a reconnect with its
    /// resume token takes the session back without the room hearing it leave and come back. Zero: leave at once.
    /// </summary>
    public TimeSpan ReconnectGrace { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>History pages (<c>GET /room/{id}/messages</c>) one client address may ask for per second (a token bucket of twice this).</summary>
    public int HistoryRequestsPerSecond { get; set; } = 5;

    /// <summary>
    /// Browser origins allowed to open a socket (the web front end's). Requests without an Origin header come from
    /// non-browser clients and are allowed; "*" allows every origin.
    /// </summary>
    public IList<string> AllowedOrigins { get; } = [];
}

internal sealed class ConnectionOptionsValidator : IValidateOptions<ConnectionOptions>
{
    public ValidateOptionsResult Validate(string? name, ConnectionOptions options)
    {
        List<string> failures = [];
        if (options.OutboundQueueCapacity is < 1 or > 1_000_000)
        {
            failures.Add("Chat:OutboundQueueCapacity must be between 1 and 1000000.");
        }

        if (options.OutboundQueueBurstCapacity < options.OutboundQueueCapacity || options.OutboundQueueBurstCapacity > 1_000_000)
        {
            failures.Add("Chat:OutboundQueueBurstCapacity must be between Chat:OutboundQueueCapacity and 1000000.");
        }

        if (options.MaxMessageBytes is < 16 or > 16 * 1024 * 1024)
        {
            failures.Add("Chat:MaxMessageBytes must be between 16 and 16777216.");
        }

        if (options.KeepAliveInterval < TimeSpan.Zero || options.KeepAliveTimeout < TimeSpan.Zero)
        {
            failures.Add("Chat:KeepAliveInterval and Chat:KeepAliveTimeout must not be negative.");
        }

        if (options.MessagesPerSecond < 1 || options.MessageBurst < 1 || options.FloodDisconnectAfter < 1)
        {
            failures.Add("Chat:MessagesPerSecond, Chat:MessageBurst and Chat:FloodDisconnectAfter must be at least 1.");
        }

        if (options.MaxConnections < 1 || options.MaxConnectionsPerAddress < 1)
        {
            failures.Add("Chat:MaxConnections and Chat:MaxConnectionsPerAddress must be at least 1.");
        }

        if (options.ReconnectGrace < TimeSpan.Zero || options.ReconnectGrace > TimeSpan.FromMinutes(1))
        {
            failures.Add("Chat:ReconnectGrace must be between 0 and 1 minute.");
        }

        if (options.HistoryRequestsPerSecond < 1)
        {
            failures.Add("Chat:HistoryRequestsPerSecond must be at least 1.");
        }

        if (options.RequestHeadersTimeout <= TimeSpan.Zero)
        {
            failures.Add("Chat:RequestHeadersTimeout must be positive.");
        }

        if (options.SlowClientGrace < TimeSpan.Zero)
        {
            failures.Add("Chat:SlowClientGrace must not be negative.");
        }

        if (options.CloseTimeout <= TimeSpan.Zero)
        {
            failures.Add("Chat:CloseTimeout must be positive.");
        }

        foreach (var origin in options.AllowedOrigins)
        {
            if (origin != "*" && !Uri.TryCreate(origin, UriKind.Absolute, out _))
            {
                failures.Add($"Chat:AllowedOrigins contains '{origin}', which is not an origin like http://localhost:5000.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
