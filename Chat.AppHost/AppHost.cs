using Microsoft.Extensions.Configuration;

var builder = DistributedApplication.CreateBuilder(args);

var api = builder.AddProject<Projects.Chat_Api>("api")
    .WithHttpHealthCheck("/health");

// History: a SQLite file of api's own unless PostgreSQL is asked for, either as an existing server
// (ConnectionStrings:chatdb, for machines without a container engine) or as a container (Chat:History:Store=postgres).
if (builder.Configuration.GetConnectionString("chatdb") is { Length: > 0 })
{
    api.WithReference(builder.AddConnectionString("chatdb"));
}
else if (string.Equals(builder.Configuration["Chat:History:Store"], "postgres", StringComparison.OrdinalIgnoreCase))
{
    var chatdb = builder.AddPostgres("postgres").WithDataVolume().AddDatabase("chatdb");
    api.WithReference(chatdb).WaitFor(chatdb);
}

// Scale-out: Chat:Replicas api processes (1 by default) are one chat through Redis, given either as an existing server
// (ConnectionStrings:cache, for machines without a container engine) or as a container (AddRedis), which replicas
// imply and Chat:Redis=container asks for with one replica. DCP balances connections over the replicas; a WebSocket
// stays on the one it upgraded on, and a reconnect that lands on another resumes there (docs/scale-out.md).
var replicas = builder.Configuration.GetValue("Chat:Replicas", 1);
if (builder.Configuration.GetConnectionString("cache") is { Length: > 0 })
{
    api.WithReference(builder.AddConnectionString("cache"));
}
else if (replicas > 1 || string.Equals(builder.Configuration["Chat:Redis"], "container", StringComparison.OrdinalIgnoreCase))
{
    var cache = builder.AddRedis("cache").WithDataVolume().WithPersistence();
    api.WithReference(cache).WaitFor(cache);
}

if (replicas > 1)
{
    api.WithReplicas(replicas);
}

// Browsers reach only the web front end, which serves the page and reverse-proxies the API (services:api:http:0).
var web = builder.AddProject<Projects.Chat_Web>("web")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/ready")
    .WithReference(api)
    .WaitFor(api);

// The API accepts WebSocket upgrades only from allowed origins. Locally that is the web's launch-profile http URL;
// published, ingress serves the web over https, the https endpoint Aspire adds to every project when publishing.
// Every endpoint is allocated before any project starts, so api reading web's URL while web waits for api is no cycle.
api.WithEnvironment("Chat__AllowedOrigins__0", web.GetEndpoint(builder.ExecutionContext.IsPublishMode ? "https" : "http"));

builder.Build().Run();
