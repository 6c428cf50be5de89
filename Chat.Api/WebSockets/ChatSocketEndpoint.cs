using System.Net.WebSockets;
using Chat.Application.Common;
using Chat.Application.Rooms.JoinRoom;
using Chat.Domain.Users;
using Chat.Infrastructure.Protocol;
using Chat.Infrastructure.Realtime;
using Chat.Infrastructure.Telemetry;
using Mediator;
using Microsoft.Extensions.Options;

namespace Chat.Api.WebSockets;

/// <summary>
/// <c>/ws/{username}</c>: the original's chat socket. <c>?room=</c> picks a room other than the default;
/// <c>&amp;features=typing</c> asks for events the original did not have.
/// </summary>
internal static partial class ChatSocketEndpoint
{
    private static long lastConnectionId;

    public static IEndpointRouteBuilder MapChatSocket(this IEndpointRouteBuilder endpoints)
    {
        // Everything the socket needs is a singleton, taken from the root provider: asking the request for them would
        // create a request scope that every open connection then holds for its lifetime.
        var services = endpoints.ServiceProvider;
        endpoints.Map("/ws/{username}", (HttpContext context, string username) => HandleAsync(
                context,
                username,
                services.GetRequiredService<ISender>(),
                services.GetRequiredService<ChatBroadcaster>(),
                services.GetRequiredService<ConnectionTracker>(),
                services.GetRequiredService<ChatTelemetry>(),
                services.GetRequiredService<IOptions<ConnectionOptions>>(),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILoggerFactory>()))
            .WithName("ChatSocket")
            .ExcludeFromDescription();
        return endpoints;
    }

    private static async Task HandleAsync(
        HttpContext context,
        string username,
        ISender sender,
        ChatBroadcaster broadcaster,
        ConnectionTracker tracker,
        ChatTelemetry telemetry,
        IOptions<ConnectionOptions> options,
        TimeProvider clock,
        ILoggerFactory loggers)
    {
        if (!WebSocketUpgrade.IsWebSocketRequest(context))
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = "websocket";
            return;
        }

        var settings = options.Value;
        if (!OriginPolicy.IsAllowed(context.Request, settings.AllowedOrigins))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        using var slot = tracker.TryReserve(context.Connection.RemoteIpAddress, out var refusal);
        if (slot is null)
        {
            context.Response.StatusCode = refusal;
            return;
        }

        var (socket, transport) = await WebSocketUpgrade.AcceptAsync(context, settings.KeepAliveInterval, settings.KeepAliveTimeout);
        var id = new ConnectionId(Interlocked.Increment(ref lastConnectionId));
        var outbox = new ClientOutbox(
            id, settings.OutboundQueueCapacity, settings.OutboundQueueBurstCapacity, settings.SlowClientGrace)
        {
            Features = ClientFeaturesParser.Parse(Single(context.Request.Query, "features")),
        };
        broadcaster.Attach(outbox);
        telemetry.ConnectionOpened();
        try
        {
            var query = context.Request.Query;
            var room = Single(query, "room");
            Result<JoinedRoom> joined;
            using (var activity = ChatTelemetry.StartCommand("chat.join", room))
            {
                var name = RawUserName(context) ?? username;
                var join = new JoinRoomCommand(id, name, room, Single(query, "since"), Single(query, "epoch"), Single(query, "token"));
                try
                {
                    // A client gone meanwhile is noticed by its reader and leaves.
                    joined = await sender.Send(join, CancellationToken.None);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Joined but never welcomed (the history store failed): leave again, then fail as any bug does.
                    await sender.Send(new Application.Rooms.LeaveRoom.LeaveRoomCommand(id), CancellationToken.None);
                    LogJoinFailed(loggers.CreateLogger<ChatConnection>(), e, id);
                    await RefuseAsync(socket, CloseReason.ServerError, settings.CloseTimeout);
                    return;
                }

                activity?.SetTag("chat.outcome", joined.Status.ToString());
            }

            if (!joined.IsOk)
            {
                await RefuseAsync(
                    socket,
                    joined.Status == ResultStatus.Unavailable ? CloseReason.TryAgainLater(joined.Error) : CloseReason.NameRefused(joined.Error),
                    settings.CloseTimeout);
                return;
            }

            using var connection = new ChatConnection(
                id, socket, transport, outbox, sender, joined.Value!.Room.Value, settings, telemetry, clock,
                loggers.CreateLogger<ChatConnection>());
            using var tracking = tracker.Track(connection);
            await connection.RunAsync();
        }
        finally
        {
            broadcaster.Detach(id);
            telemetry.ConnectionClosed();
        }
    }

    private static string? Single(IQueryCollection query, string key) =>
        query.TryGetValue(key, out var values) && values.Count > 0 ? values[0] : null;

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection {ConnectionId} could not join")]
    private static partial void LogJoinFailed(ILogger logger, Exception exception, ConnectionId connectionId);

    /// <summary>
    /// The name as the client encoded it, decoded once. Route values keep "%2F" encoded (a '/' would change the
    /// route), so "a/b" would otherwise arrive as "a%2Fb".
    /// </summary>
    private static string? RawUserName(HttpContext context)
    {
        var target = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
        const string prefix = "/ws/";
        if (target is null || !target.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var end = target.IndexOfAny(['?', '#'], prefix.Length);
        var segment = end < 0 ? target[prefix.Length..] : target[prefix.Length..end];
        return segment.Contains('/', StringComparison.Ordinal) ? null : Uri.UnescapeDataString(segment);
    }

    /// <summary>Closes a socket that never joined; a browser sees the reason, which an HTTP refusal would hide.</summary>
    private static async Task RefuseAsync(WebSocket socket, CloseReason reason, TimeSpan timeout)
    {
        using var timeoutSource = new CancellationTokenSource(timeout);
        try
        {
            await socket.CloseAsync(reason.Status, reason.FittedDescription, timeoutSource.Token);
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
            socket.Abort();
        }
        finally
        {
            socket.Dispose();
        }
    }
}
