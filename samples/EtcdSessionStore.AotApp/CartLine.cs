namespace EtcdSessionStore.AotApp;

/// <summary>One line of the cart: what and how many.</summary>
public sealed record CartLine(string Sku, int Quantity);
