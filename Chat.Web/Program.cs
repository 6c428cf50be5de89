var builder = WebApplication.CreateBuilder(args);

builder.Services.AddStaticSite();
builder.Services.AddApiProxy();

var app = builder.Build();

app.UseSecurityHeaders();
app.UseStaticSite();
app.MapApiProxy();

app.Run();
