using Etcd.AspNetCore.Session.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.Serialization;

/// <summary>A serializer setting that cannot work stops the app at start-up, saying why and what is registered.</summary>
public sealed class SerializerStartupTests
{
    private const string Registered = "Registered serializers: JSON, YAML, Binary";

    [Test]
    public void UnknownName_StopsStartup_ListingTheRegisteredNames()
    {
        var error = StartupError(o => o.Serializer = "Sereal");

        Assert.That(error, Does.Contain("EtcdSession:Serializer 'Sereal' is invalid: no serializer is registered under that name").And.Contain(Registered));
    }

    [Test]
    public void UnknownName_ListsSerializersRegisteredInCodeToo()
    {
        var error = StartupError(o =>
        {
            o.AddSerializer("PlainCustom", (_, _) => new PlainCustomSerializer(new SerializerUsage()));
            o.Serializer = "Sereal";
        });

        Assert.That(error, Does.Contain(Registered + ", PlainCustom;"));
    }

    [Test]
    public void TypeThatCannotBeLoaded_StopsStartup()
    {
        var error = StartupError(o => o.Serializer = "MyApp.Sessions.Missing, MyApp");

        Assert.That(error, Does.Contain("'MyApp.Sessions.Missing, MyApp' is invalid: the type cannot be loaded").And.Contain(Registered));
    }

    [Test]
    public void TypeThatIsNotASerializer_StopsStartup()
    {
        var error = StartupError(o => o.Serializer = SerializerSelectionTests.TypeName<SerializerUsage>());

        Assert.That(error, Does.Contain($"is not a concrete class that implements {typeof(ISessionSerializer).FullName}").And.Contain(Registered));
    }

    [Test]
    public void TypeWhoseConstructorFails_StopsStartup_WithTheCause()
    {
        var error = StartupError(o => o.Serializer = SerializerSelectionTests.TypeName<BrokenSerializer>());

        Assert.That(error, Does.Contain("failed: the key file is missing").And.Contain(Registered));
    }

    [Test]
    public void TypeNeedingAServiceThatIsNotRegistered_StopsStartup()
    {
        var error = StartupError(o => o.Serializer = SerializerSelectionTests.TypeName<BannerSerializer>());

        Assert.That(error, Does.Contain(nameof(SerializerUsage)).And.Contain(Registered));
    }

    [Test]
    public void TypeThatTakesABuiltInName_StopsStartup()
    {
        var error = StartupError(o => o.Serializer = SerializerSelectionTests.TypeName<ImpostorSerializer>());

        Assert.That(error, Does.Contain("calls itself 'json', the name of the registered JsonSessionSerializer"));
    }

    [Test]
    public void RegistrationWhoseSerializerHasAnotherName_StopsStartup()
    {
        var error = StartupError(o => o.AddSerializer("MsgPack", (_, _) => new PlainCustomSerializer(new SerializerUsage())));

        Assert.That(error, Does.Contain("the serializer registered as 'MsgPack' calls itself 'PlainCustom'"));
    }

    [TestCase("Indent", "maybe")]
    [TestCase("Flow", "yes")]
    public void InvalidBuiltInOption_StopsStartup_NamingTheOption(string option, string value)
    {
        var error = StartupError(o => o.SerializeOptions[option] = value);

        Assert.That(error, Does.Contain($"EtcdSession:SerializeOptions:{option} '{value}' is invalid: expected 'true' or 'false'"));
    }

    [Test]
    public async Task ValidCustomSerializer_Starts()
    {
        using var host = BuildHost(o => o.Serializer = SerializerSelectionTests.TypeName<PlainCustomSerializer>(), s => s.AddSingleton<SerializerUsage>());

        await host.StartAsync();
        await host.StopAsync();
    }

    private static string StartupError(Action<EtcdSessionOptions> configure)
    {
        using var host = BuildHost(configure);
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        return ex!.Message;
    }

    private static IHost BuildHost(Action<EtcdSessionOptions> configure, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddEtcdSession(o =>
        {
            o.Endpoints = EtcdFixture.Endpoints;
            configure(o);
        });
        services?.Invoke(builder.Services);
        return builder.Build();
    }
}
