namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>Paths in the repository the tests run from (found by walking up to <c>EtcdSessionStore.slnx</c>).</summary>
public static class RepositoryPaths
{
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EtcdSessionStore.slnx")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("The repository root (EtcdSessionStore.slnx) was not found.");
        }
    }

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);
}
