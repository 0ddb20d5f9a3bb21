namespace Etcd.AspNetCore.Session.DevEtcd;

/// <summary>Finds the etcd executable: ETCD_BINARY, else the first etcd on PATH.</summary>
public static class EtcdBinary
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var configured = Environment.GetEnvironmentVariable("ETCD_BINARY");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator))
        {
            var candidate = System.IO.Path.Combine(dir, "etcd");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("etcd was not found on PATH. Install it (Debian/Ubuntu: apt-get install -y etcd-server) or set ETCD_BINARY; 'dotnet cake --target=EnsureEtcd' installs it when run as root.");
    }
}
