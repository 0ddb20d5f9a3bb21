using Etcd.AspNetCore.Session.Admin;

return await AdminCommands.RunAsync(args, Console.Out, Console.Error);
