#!/usr/bin/env escript
%% Launcher: compiles bench_srv.erl (kept beside this file) in memory, loads
%% it here and, for the remote workload, on the peer node, then runs it.
%% Usage: escript bench.escript [-quick]
main(Args) ->
    Dir = filename:dirname(escript:script_name()),
    Src = filename:join(Dir, "bench_srv.erl"),
    case compile:file(Src, [binary, return_errors, report_warnings]) of
        {ok, Mod, Bin} ->
            {module, Mod} = code:load_binary(Mod, Src, Bin),
            Mod:main(Args, {Mod, Src, Bin});
        Err ->
            io:format(standard_error, "compile ~s: ~p~n", [Src, Err]),
            halt(1)
    end.
