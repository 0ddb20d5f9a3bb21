// The helpers of the ASP.NET Core docs ("Session and state management", "Set and get Session values"), as
// written there: in the docs' namespace Web.Extensions, on ISession, with the same names and signatures. A file
// that imports both Web.Extensions and Etcd.AspNetCore.Session sees both namespaces' extension methods at once.
using System.Text.Json;

namespace Web.Extensions;

public static class SessionExtensions
{
    public static void Set<T>(this ISession session, string key, T value)
    {
        session.SetString(key, JsonSerializer.Serialize(value));
    }

    public static T? Get<T>(this ISession session, string key)
    {
        var value = session.GetString(key);
        return value == null ? default : JsonSerializer.Deserialize<T>(value);
    }
}
