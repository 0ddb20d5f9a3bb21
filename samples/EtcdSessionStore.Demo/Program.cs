using EtcdSessionStore.Demo;

await ShopApp.Build(args).RunAsync();
