# fish completion for roomctl(1).
#
# The command and option lists mirror roomctl's command table (cli/cmd.c);
# tests/completions.bats compares them with `roomctl help`. Room names come
# live from Redis, bounded by `timeout 1` so a completion never hangs.

# The command word, skipping global options and their values; empty if none.
function __roomctl_cmd
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case --redis --prefix --redis-cluster --redis-password
                set -e words[1]
            case '-*'
            case '*'
                echo $words[1]
                return 0
        end
        set -e words[1]
    end
    return 1
end

function __roomctl_no_cmd
    not __roomctl_cmd >/dev/null
end

# __roomctl_is CMD...: the command is one of CMD.
function __roomctl_is
    contains -- (__roomctl_cmd) $argv
end

# Positional arguments after the command, before the cursor.
function __roomctl_npos
    set -l words (commandline -opc)
    set -l cmd (__roomctl_cmd)
    set -l seen 0
    set -l n 0
    set -l skip 0
    for w in $words[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        if test $seen -eq 0
            switch $w
                case --redis --prefix --redis-cluster --redis-password
                    set skip 1
                case '-*'
                case '*'
                    set seen 1
            end
            continue
        end
        switch $w
            case --limit --events --conn --user --reason --since --until --count --into --speed --url --clients --room --token --transcript --rooms --rate --duration --sub --secret --secret-file --ttl --publish
                test "$cmd" = publish; or set skip 1
            case '-*'
            case '*'
                set n (math $n + 1)
        end
    end
    echo $n
end

# __roomctl_first_arg CMD...: the command is one of CMD and no positional
# argument was given yet.
function __roomctl_first_arg
    __roomctl_is $argv; and test (__roomctl_npos) -eq 0
end

# Room names, from the Redis the command line (or the environment) names.
function __roomctl_rooms
    set -l words (commandline -opc)
    set -l args --json
    set -l i 2
    while test $i -le (count $words)
        switch $words[$i]
            case --redis --prefix
                set -l j (math $i + 1)
                set -q words[$j]; and set args $args $words[$i] $words[$j]
            case '--redis=*' '--prefix=*'
                set args $args $words[$i]
        end
        set i (math $i + 1)
    end
    timeout 1 roomctl $args rooms --all --limit 1000 2>/dev/null \
        | string match -ar '\{"room":"[A-Za-z0-9_.:-]{1,64}"' \
        | string replace -r '^\{"room":"(.*)"$' '$1'
end

complete -c roomctl -f

# Global options and the commands.
complete -c roomctl -n __roomctl_no_cmd -l redis -x -d 'Redis URL'
complete -c roomctl -n __roomctl_no_cmd -l redis-cluster -x -d 'Redis Cluster seed nodes'
complete -c roomctl -n __roomctl_no_cmd -l redis-password -x -d 'password of the cluster nodes'
complete -c roomctl -n __roomctl_no_cmd -l prefix -x -d 'key prefix'
complete -c roomctl -n __roomctl_no_cmd -l json -d 'print JSON'
complete -c roomctl -n __roomctl_no_cmd -l help -d 'print the usage'
complete -c roomctl -n __roomctl_no_cmd -l version -d 'print the version'
complete -c roomctl -n __roomctl_no_cmd -a help -d 'list the commands, or show one command\'s usage'
complete -c roomctl -n __roomctl_no_cmd -a version -d 'print roomctl\'s version and protocol'
complete -c roomctl -n __roomctl_no_cmd -a nodes -d 'list the live roomd nodes'
complete -c roomctl -n __roomctl_no_cmd -a rooms -d 'list rooms by member count'
complete -c roomctl -n __roomctl_no_cmd -a inspect -d 'show one room'
complete -c roomctl -n __roomctl_no_cmd -a evict -d 'remove members from a room'
complete -c roomctl -n __roomctl_no_cmd -a replay -d 'print, follow or republish a room\'s history'
complete -c roomctl -n __roomctl_no_cmd -a publish -d 'write an event frame into a room'
complete -c roomctl -n __roomctl_no_cmd -a gc -d 'clean up after dead nodes'
complete -c roomctl -n __roomctl_no_cmd -a webhooks -d 'show the webhook queue'
complete -c roomctl -n __roomctl_no_cmd -a sim -d 'run simulated clients'
complete -c roomctl -n __roomctl_no_cmd -a token -d 'mint an HS256 token'

# help COMMAND
complete -c roomctl -n '__roomctl_first_arg help' -a 'help version nodes rooms inspect evict replay publish gc webhooks sim token'

# Commands that take a room first.
complete -c roomctl -n '__roomctl_first_arg inspect evict replay publish' -a '(__roomctl_rooms)'

complete -c roomctl -n '__roomctl_is nodes' -l json -d 'print JSON'

complete -c roomctl -n '__roomctl_is rooms' -l all -d 'private rooms too'
complete -c roomctl -n '__roomctl_is rooms' -l limit -x -d 'at most N rooms'
complete -c roomctl -n '__roomctl_is rooms' -l json -d 'print JSON'

complete -c roomctl -n '__roomctl_is inspect' -l events -x -d 'last N frames'
complete -c roomctl -n '__roomctl_is inspect' -l json -d 'print JSON'

complete -c roomctl -n '__roomctl_is evict' -l conn -x -d 'one connection'
complete -c roomctl -n '__roomctl_is evict' -l user -x -d 'a user\'s members'
complete -c roomctl -n '__roomctl_is evict' -l reason -x -d 'text sent to the member'
complete -c roomctl -n '__roomctl_is evict' -l disconnect -d 'close with 4000'
complete -c roomctl -n '__roomctl_is evict' -l json -d 'print JSON'

complete -c roomctl -n '__roomctl_is replay' -l since -x -d 'after this seq'
complete -c roomctl -n '__roomctl_is replay' -l until -x -d 'up to this seq'
complete -c roomctl -n '__roomctl_is replay' -l count -x -d 'N frames'
complete -c roomctl -n '__roomctl_is replay' -l follow -d 'keep printing new frames'
complete -c roomctl -n '__roomctl_is replay' -l into -x -a '(__roomctl_rooms)' -d 'republish into ROOM2'
complete -c roomctl -n '__roomctl_is replay' -l speed -x -d 'timing divided by X'
complete -c roomctl -n '__roomctl_is replay' -l json -d 'print JSON'

complete -c roomctl -n '__roomctl_is publish' -l json -d 'print JSON'

complete -c roomctl -n '__roomctl_is gc' -l json -d 'print JSON'
complete -c roomctl -n '__roomctl_is webhooks' -l json -d 'print JSON'

complete -c roomctl -n '__roomctl_is sim' -l url -x -d 'roomd WebSocket URLs'
complete -c roomctl -n '__roomctl_is sim' -l clients -x -d 'number of clients'
complete -c roomctl -n '__roomctl_is sim' -l room -x -a '(__roomctl_rooms)' -d '$room in the script'
complete -c roomctl -n '__roomctl_is sim' -l token -x -d 'token to connect with'
complete -c roomctl -n '__roomctl_is sim' -l transcript -r -F -d 'write frames to FILE'
complete -c roomctl -n '__roomctl_is sim' -l rooms -x -d 'load mode: rooms'
complete -c roomctl -n '__roomctl_is sim' -l rate -x -d 'load mode: events a second'
complete -c roomctl -n '__roomctl_is sim' -l duration -x -d 'load mode: seconds'
complete -c roomctl -n '__roomctl_is sim' -l json -d 'load mode: print JSON'
complete -c roomctl -n '__roomctl_is sim' -l ca -r -F -d 'wss: trust the CA certificates in FILE'
complete -c roomctl -n '__roomctl_is sim' -l insecure-tls -d 'wss: do not verify the server\'s certificate'
complete -c roomctl -n '__roomctl_first_arg sim' -F

complete -c roomctl -n '__roomctl_is token' -l sub -x -d 'user id'
complete -c roomctl -n '__roomctl_is token' -l secret -x -d 'HMAC secret'
complete -c roomctl -n '__roomctl_is token' -l secret-file -r -F -d 'read the secret from FILE'
complete -c roomctl -n '__roomctl_is token' -l ttl -x -d 'lifetime'
complete -c roomctl -n '__roomctl_is token' -l rooms -x -d 'room patterns'
complete -c roomctl -n '__roomctl_is token' -l publish -x -d 'event patterns'
complete -c roomctl -n '__roomctl_is token' -l admin -d 'any room, any event'
