namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>The shape of one HTTP benchmark run, as the report describes it.</summary>
internal sealed record HttpRun(int Seconds, int Rounds, int Connections, int Sessions, DateTimeOffset Started)
{
    /// <summary>Shorter than the defaults (3 rounds of 10 s): its numbers are placeholders.</summary>
    public bool IsSmoke => Seconds < 10 || Rounds < 3;
}
