namespace Etcd.AspNetCore.Session;

/// <summary>Counts for one key prefix and the etcd cluster it is on, from <see cref="EtcdSessionDirectory.GetStatisticsAsync"/>.</summary>
public sealed class EtcdSessionStatistics
{
    internal EtcdSessionStatistics(string keyPrefix, long sessions, long sessionsBoundToAUser, int leases, int expiryLeases, string etcdVersion, long dbSize, long dbSizeInUse, long revision)
    {
        KeyPrefix = keyPrefix;
        Sessions = sessions;
        SessionsBoundToAUser = sessionsBoundToAUser;
        Leases = leases;
        ExpiryLeases = expiryLeases;
        EtcdVersion = etcdVersion;
        DbSize = dbSize;
        DbSizeInUse = dbSizeInUse;
        Revision = revision;
    }

    /// <summary>The <see cref="EtcdSessionOptions.KeyPrefix"/> counted.</summary>
    public string KeyPrefix { get; }

    /// <summary>Stored sessions under the prefix.</summary>
    public long Sessions { get; }

    /// <summary>Entries of the user index under the prefix: sessions bound to a user.</summary>
    public long SessionsBoundToAUser { get; }

    /// <summary>Every lease of the etcd cluster (not only this store's).</summary>
    public int Leases { get; }

    /// <summary>Leases that are session expiry leases, shared by every key prefix.</summary>
    public int ExpiryLeases { get; }

    /// <summary>The version of the etcd member that answered.</summary>
    public string EtcdVersion { get; }

    /// <summary>The size of that member's database file, in bytes.</summary>
    public long DbSize { get; }

    /// <summary>The part of <see cref="DbSize"/> in use (the rest is reclaimed by defragmentation).</summary>
    public long DbSizeInUse { get; }

    /// <summary>The etcd revision when the statistics were read.</summary>
    public long Revision { get; }
}
