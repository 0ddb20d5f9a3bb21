using Etcd.AspNetCore.Session;
using EtcdSessionStore.MvcTempData;

// Set EtcdSession__Endpoints (and EtcdSession__KeyPrefix) to an etcd, then POST /mvc/prg?value=hi and follow the redirect.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddEtcdSession(builder.Configuration.GetSection("EtcdSession"));
builder.Services.AddTempDataApp();

var app = builder.Build();
app.UseRouting();
app.UseEtcdSession();
app.MapTempDataApp();
app.Run();
