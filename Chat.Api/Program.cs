using Chat.Api.Health;
using Chat.Api.History;
using Chat.Api.Http;
using Chat.Api.Stats;
using Chat.Api.WebSockets;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();

// Several replicas, one chat: Aspire's Redis client (health check, traces) when the AppHost gives a "cache".
if (builder.Configuration.GetConnectionString(InfrastructureServiceCollectionExtensions.RedisConnectionStringName) is { Length: > 0 })
{
    builder.AddRedisClient(
        InfrastructureServiceCollectionExtensions.RedisConnectionStringName,
        configureOptions: options => options.AbortOnConnectFail = false);
}

builder.Services.AddApplication();
builder.Services.AddInfrastructure(builder.Configuration);
builder.Services.AddChatApi();
builder.Services.AddHistoryRateLimit();

var app = builder.Build();

app.UseSecurityHeaders();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRateLimiter();

app.MapDefaultEndpoints(healthResponseWriter: HealthResponseWriter.WriteAsync);
app.MapChatSocket();
app.MapStats();
app.MapMessages();

app.Run();

/// <summary>The entry point, public so integration tests can host the API.</summary>
public partial class Program;
