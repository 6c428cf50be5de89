using System.Globalization;
using System.Threading.RateLimiting;
using Chat.Api.WebSockets;
using Chat.Application.Common;
using Chat.Application.Messages.GetMessages;
using Chat.Infrastructure.Protocol;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Chat.Api.History;

/// <summary>A page of history: messages in the same shape as on the socket (with <c>id</c>), oldest first.</summary>
internal sealed record MessagePageResponse(string RoomId, string Epoch, IReadOnlyList<HistoryEntry> Messages, bool HasMore);

internal sealed record HistoryEntry(long Id, string Type, string UserName, string Message, decimal Timestamp);

/// <summary><c>GET /room/{room_id}/messages?before={id}&amp;limit={n}</c>: scrolling back through a room's history.</summary>
internal static class MessagesEndpoints
{
    public const string RateLimitPolicy = "history";
    private const int DefaultLimit = 50;

    /// <summary>A token bucket per client address: a page scrolls in a few requests, a scraper is slowed to the rate.</summary>
    public static IServiceCollection AddHistoryRateLimit(this IServiceCollection services) =>
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(RateLimitPolicy, context =>
            {
                var perSecond = context.RequestServices.GetRequiredService<IOptions<ConnectionOptions>>().Value.HistoryRequestsPerSecond;
                return RateLimitPartition.GetTokenBucketLimiter(
                    context.Connection.RemoteIpAddress?.ToString() ?? string.Empty,
                    _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = perSecond * 2,
                        TokensPerPeriod = perSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                    });
            });
        });

    public static IEndpointRouteBuilder MapMessages(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/room/{room_id}/messages", GetMessagesAsync).WithName("GetMessages").RequireRateLimiting(RateLimitPolicy);
        return endpoints;
    }

    private static async Task<Results<Ok<MessagePageResponse>, ProblemHttpResult>> GetMessagesAsync(
        [Microsoft.AspNetCore.Mvc.FromRoute(Name = "room_id")] string roomId,
        string? before,
        string? limit,
        ISender sender,
        CancellationToken cancellationToken)
    {
        // Parsed here rather than bound, so a bad value gets an answer that says which and why.
        long? beforeId = null;
        if (before is not null)
        {
            if (!long.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return BadRequest(GetMessagesValidator.BeforeError);
            }

            beforeId = parsed;
        }

        var count = DefaultLimit;
        if (limit is not null && !int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count))
        {
            return BadRequest(GetMessagesValidator.LimitError);
        }

        var result = await sender.Send(new GetMessagesQuery(roomId, beforeId, count), cancellationToken);
        return result.Status switch
        {
            ResultStatus.Ok => TypedResults.Ok(ToResponse(result.Value!)),
            ResultStatus.Invalid => BadRequest(result.Error),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Room not found", detail: result.Error),
        };
    }

    private static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: detail);

    private static MessagePageResponse ToResponse(MessagePage page) => new(
        page.RoomId,
        page.Epoch,
        [.. page.Messages.Select(m => new HistoryEntry(
            m.Id, ChatEventSerializer.ChatMessageType, m.Sender, m.Text, ChatEventSerializer.ToUnixSeconds(m.SentAt)))],
        page.HasMore);
}
