namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>How the sessions went once nothing wrote any more: when etcd held none, and the fastest removal seen.</summary>
internal sealed record ScaleExpiry(DateTimeOffset FirstWrite, DateTimeOffset LastWrite, DateTimeOffset? ZeroAt, double PeakRemovalPerSecond, long DbBytesAfter, double RssMiBAfter);
