using Chat.Application.Common;
using Chat.Application.Stats.GetRoomStats;
using Chat.Application.Stats.GetStats;
using Mediator;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Chat.Api.Stats;

/// <summary><c>GET /stats</c> and <c>GET /room/{room_id}/stats</c>: counts, never names or messages.</summary>
internal static class StatsEndpoints
{
    public static IEndpointRouteBuilder MapStats(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/stats", GetStatsAsync).WithName("GetStats");
        endpoints.MapGet("/room/{room_id}/stats", GetRoomStatsAsync).WithName("GetRoomStats");
        return endpoints;
    }

    private static async Task<Ok<ChatStats>> GetStatsAsync(ISender sender, CancellationToken cancellationToken) =>
        TypedResults.Ok(await sender.Send(new GetStatsQuery(), cancellationToken));

    private static async Task<Results<Ok<RoomStats>, ProblemHttpResult>> GetRoomStatsAsync(
        [Microsoft.AspNetCore.Mvc.FromRoute(Name = "room_id")] string roomId, ISender sender, CancellationToken cancellationToken)
    {
        var result = await sender.Send(new GetRoomStatsQuery(roomId), cancellationToken);
        return result.Status == ResultStatus.Ok
            ? TypedResults.Ok(result.Value)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Room not found", detail: result.Error);
    }
}
