return GenSharp.Cli.CliApp.Run(args);
