namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>The shape of one HTTP benchmark run, as the report describes it.</summary>
internal sealed record HttpRun(int Seconds, int Rounds, int Connections, int Sessions, DateTimeOffset Started)
{
    /// <summary>The app instances, in the order each round runs them: <see cref="HttpSide.Apps"/>, plus a baseline build when one was given.</summary>
    public IReadOnlyList<HttpSide> Apps { get; init; } = HttpSide.Apps;

    /// <summary>The earlier build of this store measured alongside, if any.</summary>
    public HttpSide? Baseline => Apps.FirstOrDefault(s => s.Program is not null);

    /// <summary>Shorter than the defaults (3 rounds of 10 s): its numbers are placeholders.</summary>
    public bool IsSmoke => Seconds < 10 || Rounds < 3;
}
