return GenSharp.Cli.GenSharpCli.Run(args);
