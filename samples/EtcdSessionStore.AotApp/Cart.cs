namespace EtcdSessionStore.AotApp;

/// <summary>The cart kept in the session, as JSON.</summary>
public sealed record Cart(IReadOnlyList<CartLine> Lines);
