namespace Etcd.AspNetCore.Session.NearCache;

/// <summary>
/// The app's near cache, or the fact that there is none (<see cref="NearCacheOptions.Enabled"/> is false, or the etcd
/// client came from <c>ClientFactory</c>, which offers no channel for the cache's watch): one registration that the
/// session lifecycle, the health check and <see cref="NearCacheService"/> share.
/// </summary>
/// <param name="Cache">The cache; <see langword="null"/> when reads always go to etcd.</param>
/// <param name="Metrics">Its instruments; <see langword="null"/> with <paramref name="Cache"/>.</param>
internal sealed record NearCacheInstance(SessionCache? Cache, NearCacheMetrics? Metrics);
