using System.Diagnostics;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>Runs etcdctl (API v3) against one member, as root once auth is on (root's password is <c>rootpw</c>).</summary>
public static class Etcdctl
{
    public static void Run(EtcdMember member, params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(Path.GetDirectoryName(EtcdBinary.Path)!, "etcdctl"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["ETCDCTL_API"] = "3" },
        };
        start.ArgumentList.Add($"--endpoints={member.ClientUrl}");
        if (args[0] != "user" || args[1] != "add" || !args[2].StartsWith("root", StringComparison.Ordinal))
        {
            start.ArgumentList.Add("--user=root:rootpw");
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, $"etcdctl {string.Join(' ', args)}: {stderr}");
    }

    /// <summary>Root, a role with read-write on <paramref name="prefix"/>, user app:apppw with it, user outsider:outpw without; then auth on.</summary>
    public static void EnableAuth(EtcdMember member, string prefix)
    {
        Run(member, "user", "add", "root:rootpw", "--interactive=false");
        Run(member, "role", "add", "sessions");
        Run(member, "role", "grant-permission", "sessions", "--prefix=true", "readwrite", prefix);
        Run(member, "user", "add", "app:apppw", "--interactive=false");
        Run(member, "user", "grant-role", "app", "sessions");
        Run(member, "user", "add", "outsider:outpw", "--interactive=false");
        Run(member, "auth", "enable");
    }
}
