namespace Etcd.AspNetCore.Session.Serialization;

/// <summary>The serializer that writes new sessions, and every serializer that can read a stored one.</summary>
internal sealed class SessionSerializerSet
{
    private readonly Dictionary<string, ISessionSerializer> _byName;

    public SessionSerializerSet(ISessionSerializer writer, IEnumerable<ISessionSerializer> readers)
    {
        Writer = writer;
        _byName = new Dictionary<string, ISessionSerializer>(StringComparer.OrdinalIgnoreCase);
        foreach (var reader in readers.Append(writer))
        {
            _byName[reader.Name] = reader;
        }
    }

    public ISessionSerializer Writer { get; }

    public ISessionSerializer? Find(string name) => _byName.GetValueOrDefault(name);

    public IEnumerable<string> Names => _byName.Keys;
}
