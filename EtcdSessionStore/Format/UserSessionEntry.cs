namespace Etcd.AspNetCore.Session.Format;

/// <summary>A decoded index entry with what a revoke needs: the session's etcd key and the entry's own key and revision.</summary>
internal sealed record UserSessionEntry(EtcdUserSession Session, string StorageKey, string EntryKey, long ModRevision);
