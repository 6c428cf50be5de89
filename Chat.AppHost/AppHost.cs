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
