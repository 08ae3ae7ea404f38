%% The Erlang/OTP side of the benchmarks: gen_server, supervisor,
%% erlang:register and pg, doing the workloads of bench/internal/harness with
%% the same counts, printing the same JSON lines.
-module(bench_srv).
-export([main/2, init/1, handle_call/3, handle_cast/2, handle_info/2,
         idle_loop/0, member_loop/0]).

-define(SYS, "erlang").

counts(true) ->
    #{calls => 1000, casts => 10000, spawns => 1000, spawn_stops => 200,
      restarts => 20, names => 1000, groups => 2, group_size => 100,
      members_calls => 100, publishes => 10, remote_calls => 200, remote_sends => 2000};
counts(false) ->
    #{calls => 50000, casts => 1000000, spawns => 100000, spawn_stops => 20000,
      restarts => 1000, names => 100000, groups => 10, group_size => 1000,
      members_calls => 10000, publishes => 1000, remote_calls => 10000, remote_sends => 100000}.

main(Args, Code) ->
    C = counts(lists:member("-quick", Args)),
    info("version", io_lib:format("Erlang/OTP ~s, ERTS ~s, ~p schedulers",
        [erlang:system_info(otp_release), erlang:system_info(version),
         erlang:system_info(schedulers_online)])),
    info("setting", "escript launcher, bench_srv compiled in memory (compile:file, binary); default schedulers, no logger output (logger level none)"),
    info("setting", "call: gen_server:call; cast: gen_server:cast to a counting gen_server"),
    info("setting", "spawn: gen_server:start (init runs before it returns); stop: gen_server:stop (synchronous); memory: growth of erlang:memory(processes)"),
    info("setting", "restart: supervisor one_for_one, intensity 1000000 per 1 s; child gen_server registered as w; kill = exit(Pid, kill)"),
    info("setting", "names: erlang:register/whereis/unregister; groups: pg scope (join/get_members/leave), publish = send to each of pg:get_members"),
    info("setting", "remote: distributed Erlang between this node and a peer started with the peer module (-sname, TCP on loopback)"),
    logger:set_primary_config(level, none),
    lists:foreach(fun({G, F}) ->
        try F(C) catch Class:Reason:St ->
            io:format(standard_error, "~s: ~p:~p ~p~n", [G, Class, Reason, St]),
            [na(M, io_lib:format("error: ~w", [Reason])) || M <- group_metrics(G)]
        end,
        erlang:garbage_collect()
    end, [{call, fun call/1}, {cast, fun cast/1}, {spawn, fun spawn_/1},
          {restart, fun restart/1}, {registry, fun registry/1},
          {remote, fun(Cs) -> remote(Cs, Code) end}]),
    halt(0).

group_metrics(call) -> [call_p50, call_p99, call_rate];
group_metrics(cast) -> [cast_1to1, cast_4to1];
group_metrics(spawn) -> [spawn_rate, spawn_stop_rate, idle_bytes];
group_metrics(restart) -> [restart_p50, restart_p99, restart_lost];
group_metrics(registry) -> [name_register, name_lookup, name_unregister,
                            group_join, group_members, group_leave, group_publish];
group_metrics(remote) -> [remote_call_p50, remote_call_p99, remote_call_rate, remote_send_rate].

%% --- output ---

json_str(S) ->
    B = iolist_to_binary(S),
    B1 = binary:replace(B, <<"\\">>, <<"\\\\">>, [global]),
    binary:replace(B1, <<"\"">>, <<"\\\"">>, [global]).

info(Kind, Text) ->
    io:format("{\"system\":\"~s\",\"info\":\"~s\",\"text\":\"~s\"}~n", [?SYS, Kind, json_str(Text)]).
value(M, V) ->
    io:format("{\"system\":\"~s\",\"metric\":\"~s\",\"value\":~s}~n",
              [?SYS, M, float_to_list(float(V), [{decimals, 3}])]).
na(M, Why) ->
    io:format("{\"system\":\"~s\",\"metric\":\"~s\",\"na\":\"~s\"}~n", [?SYS, M, json_str(Why)]).

now_ns() -> erlang:monotonic_time(nanosecond).
rate(N, T0) -> N / ((now_ns() - T0) / 1.0e9).

pct(Sorted, Len, P) ->
    I = min(Len, (Len * P) div 100 + 1),
    lists:nth(I, Sorted).

latencies(Samples) ->
    S = lists:sort(Samples),
    L = length(S),
    {pct(S, L, 50), pct(S, L, 99)}.

%% --- gen_server / supervisor callbacks (one module, told apart by Args) ---

init({echo}) -> {ok, 0};
init({counter, Total, Notify}) -> {ok, {Total, Notify, 0}};
init({idle}) -> {ok, 1};
init({sink}) -> {ok, 0};
init({sup}) ->
    Child = #{id => w, start => {gen_server, start_link, [{local, w}, ?MODULE, {echo}, []]},
              restart => permanent, shutdown => 5000, type => worker},
    {ok, {#{strategy => one_for_one, intensity => 1000000, period => 1}, [Child]}}.

handle_call(count, _From, N) when is_integer(N) -> {reply, N, N};
handle_call(Req, _From, S) -> {reply, Req, S}.

handle_cast(_Msg, {Total, Notify, N}) ->
    N1 = N + 1,
    case N1 of
        Total -> Notify ! counted;
        _ -> ok
    end,
    {noreply, {Total, Notify, N1}}.

handle_info(_Msg, N) -> {noreply, N + 1}.

%% --- (a) call ---

call(C) ->
    N = maps:get(calls, C),
    {ok, Pid} = gen_server:start(?MODULE, {echo}, []),
    [I = gen_server:call(Pid, I) || I <- lists:seq(1, N div 20)],
    erlang:garbage_collect(),
    T0 = now_ns(),
    Samples = call_loop(Pid, N, []),
    value(call_rate, rate(N, T0)),
    {P50, P99} = latencies(Samples),
    value(call_p50, P50),
    value(call_p99, P99),
    gen_server:stop(Pid).

call_loop(_Pid, 0, Acc) -> Acc;
call_loop(Pid, I, Acc) ->
    T0 = now_ns(),
    I = gen_server:call(Pid, I),
    call_loop(Pid, I - 1, [now_ns() - T0 | Acc]).

%% --- (b, c) cast ---

cast(C) ->
    N = maps:get(casts, C),
    lists:foreach(fun(Producers) ->
        erlang:garbage_collect(),
        {ok, Pid} = gen_server:start(?MODULE, {counter, N, self()}, []),
        Share = N div Producers,
        First = Share + N rem Producers,
        T0 = now_ns(),
        Self = self(),
        [spawn_link(fun() -> cast_loop(Pid, Share), Self ! sent end)
         || _ <- lists:seq(2, Producers)],
        cast_loop(Pid, First),
        [receive sent -> ok end || _ <- lists:seq(2, Producers)],
        receive counted -> ok after 60000 -> error(timeout) end,
        value(case Producers of 1 -> cast_1to1; 4 -> cast_4to1 end, rate(N, T0)),
        gen_server:stop(Pid)
    end, [1, 4]).

cast_loop(_Pid, 0) -> ok;
cast_loop(Pid, I) -> gen_server:cast(Pid, I), cast_loop(Pid, I - 1).

%% --- (d) spawn ---

spawn_(C) ->
    N = maps:get(spawns, C),
    M = maps:get(spawn_stops, C),
    erlang:garbage_collect(),
    Before = erlang:memory(processes),
    T0 = now_ns(),
    Pids = [begin {ok, P} = gen_server:start(?MODULE, {idle}, []), P end || _ <- lists:seq(1, N)],
    value(spawn_rate, rate(N, T0)),
    erlang:garbage_collect(),
    After = erlang:memory(processes),
    value(idle_bytes, (After - Before) / N),
    [ok = gen_server:stop(P) || P <- Pids],
    erlang:garbage_collect(),
    T1 = now_ns(),
    spawn_stop(M),
    value(spawn_stop_rate, rate(M, T1)).

spawn_stop(0) -> ok;
spawn_stop(I) ->
    {ok, P} = gen_server:start(?MODULE, {idle}, []),
    ok = gen_server:stop(P),
    spawn_stop(I - 1).

%% --- (e) restart ---

restart(C) ->
    N = maps:get(restarts, C),
    {ok, Sup} = supervisor:start_link(?MODULE, {sup}),
    unlink(Sup),
    {Samples, Lost} = restart_loop(N, [], 0),
    case Samples of
        [] -> ok;
        _ ->
            {P50, P99} = latencies(Samples),
            value(restart_p50, P50),
            value(restart_p99, P99)
    end,
    value(restart_lost, Lost),
    exit(Sup, shutdown).

restart_loop(0, Acc, Lost) -> {Acc, Lost};
restart_loop(I, Acc, Lost) ->
    Old = whereis(w),
    T0 = now_ns(),
    exit(Old, kill),
    case await_replacement(Old, T0) of
        ok -> restart_loop(I - 1, [now_ns() - T0 | Acc], Lost);
        lost -> restart_loop(I - 1, Acc, Lost + 1)
    end.

await_replacement(Old, T0) ->
    case whereis(w) of
        P when is_pid(P), P =/= Old ->
            try gen_server:call(P, ping) of
                ping -> ok
            catch _:_ -> retry(Old, T0)
            end;
        _ -> retry(Old, T0)
    end.

retry(Old, T0) ->
    case now_ns() - T0 > 5000000000 of
        true -> lost;
        false -> erlang:yield(), await_replacement(Old, T0)
    end.

%% --- (f) names and groups ---

idle_loop() -> receive stop -> ok end.

member_loop() ->
    receive
        {pub, Counter, From} ->
            case atomics:sub_get(Counter, 1, 1) of
                0 -> From ! published;
                _ -> ok
            end,
            member_loop();
        stop -> ok
    end.

registry(C) ->
    N = maps:get(names, C),
    Pids = list_to_tuple([spawn(?MODULE, idle_loop, []) || _ <- lists:seq(1, N)]),
    Names = list_to_tuple([list_to_atom("n" ++ integer_to_list(I)) || I <- lists:seq(1, N)]),
    erlang:garbage_collect(),
    T0 = now_ns(),
    [true = register(element(I, Names), element(I, Pids)) || I <- lists:seq(1, N)],
    value(name_register, rate(N, T0)),
    T1 = now_ns(),
    lookup(N, Names, Pids),
    value(name_lookup, rate(N, T1)),
    T2 = now_ns(),
    [true = unregister(element(I, Names)) || I <- lists:seq(1, N)],
    value(name_unregister, rate(N, T2)),
    [P ! stop || P <- tuple_to_list(Pids)],
    groups(C).

lookup(0, _, _) -> ok;
lookup(I, Names, Pids) ->
    P = element(I, Pids),
    P = whereis(element(I, Names)),
    lookup(I - 1, Names, Pids).

groups(C) ->
    G = maps:get(groups, C),
    Size = maps:get(group_size, C),
    {ok, Scope} = pg:start_link(bench_pg),
    unlink(Scope),
    Members = list_to_tuple([list_to_tuple([spawn(?MODULE, member_loop, []) || _ <- lists:seq(1, Size)])
                             || _ <- lists:seq(1, G)]),
    erlang:garbage_collect(),
    Total = G * Size,
    All = [{Gi, element(I, element(Gi, Members))} || Gi <- lists:seq(1, G), I <- lists:seq(1, Size)],
    T0 = now_ns(),
    [ok = pg:join(bench_pg, Gi, P) || {Gi, P} <- All],
    value(group_join, rate(Total, T0)),
    MC = maps:get(members_calls, C),
    T1 = now_ns(),
    [Size = length(pg:get_members(bench_pg, (I rem G) + 1)) || I <- lists:seq(1, MC)],
    value(group_members, rate(MC, T1)),
    Pubs = maps:get(publishes, C),
    Counter = atomics:new(1, []),
    Self = self(),
    T2 = now_ns(),
    lists:foreach(fun(I) ->
        Ms = pg:get_members(bench_pg, (I rem G) + 1),
        atomics:put(Counter, 1, length(Ms)),
        [M ! {pub, Counter, Self} || M <- Ms],
        receive published -> ok after 60000 -> error(publish_timeout) end
    end, lists:seq(1, Pubs)),
    value(group_publish, (now_ns() - T2) / Pubs),
    T3 = now_ns(),
    [ok = pg:leave(bench_pg, Gi, P) || {Gi, P} <- All],
    value(group_leave, rate(Total, T3)),
    [P ! stop || {_, P} <- All],
    exit(Scope, shutdown).

%% --- (g) remote ---

remote(C, {Mod, Src, Bin}) ->
    os:cmd("epmd -daemon"),
    Suffix = integer_to_list(erlang:unique_integer([positive])) ++ os:getpid(),
    ok = start_dist(list_to_atom("bench_main" ++ Suffix), 100),
    {ok, Peer, Node} = peer:start_link(#{name => list_to_atom("bench_peer" ++ Suffix)}),
    {module, Mod} = erpc:call(Node, code, load_binary, [Mod, Src, Bin]),
    {ok, Echo} = erpc:call(Node, gen_server, start, [Mod, {echo}, []]),
    {ok, Sink} = erpc:call(Node, gen_server, start, [Mod, {sink}, []]),
    N = maps:get(remote_calls, C),
    [I = gen_server:call(Echo, I) || I <- lists:seq(1, N div 20)],
    T0 = now_ns(),
    Samples = call_loop(Echo, N, []),
    value(remote_call_rate, rate(N, T0)),
    {P50, P99} = latencies(Samples),
    value(remote_call_p50, P50),
    value(remote_call_p99, P99),
    S = maps:get(remote_sends, C),
    T1 = now_ns(),
    send_loop(Sink, S),
    wait_count(Sink, S),
    value(remote_send_rate, rate(S, T1)),
    peer:stop(Peer).

%% epmd may take a moment to listen after "epmd -daemon".
start_dist(Name, 0) -> {ok, _} = net_kernel:start([Name, shortnames]), ok;
start_dist(Name, Tries) ->
    case net_kernel:start([Name, shortnames]) of
        {ok, _} -> ok;
        _ -> timer:sleep(50), start_dist(Name, Tries - 1)
    end.

send_loop(_, 0) -> ok;
send_loop(P, I) -> P ! 7, send_loop(P, I - 1).

wait_count(Sink, S) ->
    case gen_server:call(Sink, count) of
        N when N >= S -> ok;
        _ -> timer:sleep(0), wait_count(Sink, S)
    end.
