// An app written against the stock session, switched to etcd by two calls. With --self-check it starts on a
// free port, makes two requests with one cookie and exits 0 when the second one saw the first one's write.
using System.Net;
using Etcd.AspNetCore.Session;

var selfCheck = args.Contains("--self-check");
var builder = WebApplication.CreateBuilder(args.Where(a => a != "--self-check").ToArray());
builder.Logging.SetMinimumLevel(LogLevel.Warning);

// [package-consumer-services]
builder.Services.AddEtcdSession(builder.Configuration.GetSection("EtcdSession"));
// [/package-consumer-services]

var app = builder.Build();

// [package-consumer-pipeline]
app.UseEtcdSession();
// [/package-consumer-pipeline]

// [package-consumer-endpoint]
app.MapGet("/visits", (HttpContext context) =>
{
    var visits = (context.Session.GetInt32("visits") ?? 0) + 1;
    context.Session.SetInt32("visits", visits);
    return visits.ToString(System.Globalization.CultureInfo.InvariantCulture);
});
// [/package-consumer-endpoint]

if (!selfCheck)
{
    await app.RunAsync();
    return 0;
}

app.Urls.Add("http://127.0.0.1:0");
await app.StartAsync();
try
{
    var address = app.Urls.First();
    using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(address) };
    var first = await http.GetStringAsync("/visits");
    var second = await http.GetStringAsync("/visits");
    var version = typeof(EtcdSessionOptions).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
    Console.WriteLine($"visits: {first} then {second}; EtcdSessionStore {version}");
    return first == "1" && second == "2" ? 0 : 1;
}
finally
{
    await app.StopAsync();
}
