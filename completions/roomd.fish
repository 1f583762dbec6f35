# fish completion for roomd(8). The option list mirrors roomd's option
# table (daemon/config.c); tests/completions.bats compares it with
# `roomd --help`.

complete -c roomd -f
complete -c roomd -l listen -x -d 'ADDR:PORT to serve on'
complete -c roomd -l redis -x -d 'Redis URL'
complete -c roomd -l redis-cluster -x -d 'Redis Cluster seed nodes'
complete -c roomd -l redis-password -x -d 'password of the cluster nodes'
complete -c roomd -l prefix -x -d 'prefix of every Redis key'
complete -c roomd -l config -r -F -d 'read name = value lines from FILE'
complete -c roomd -l auth-secret -x -d 'HMAC secret of client tokens'
complete -c roomd -l auth-secret-file -r -F -d 'read the secret from FILE'
complete -c roomd -l insecure -d 'allow anonymous clients on any address'
complete -c roomd -l node-id -x -d 'this node\'s id'
complete -c roomd -l history -x -d 'frames kept per room'
complete -c roomd -l room-ttl -x -d 'idle room lifetime'
complete -c roomd -l empty-ttl -x -d 'lifetime of a closed room\'s keys'
complete -c roomd -l max-frame -x -d 'largest client frame'
complete -c roomd -l max-rooms-per-conn -x -d 'rooms one connection may join'
complete -c roomd -l max-conns -x -d 'connections at once'
complete -c roomd -l rate -x -d 'requests a second per connection'
complete -c roomd -l log-level -x -a 'debug info warn error' -d 'lowest level logged'
complete -c roomd -l log-format -x -a 'text json' -d 'log line format'
complete -c roomd -l check-config -d 'check the settings and exit'
complete -c roomd -l help -d 'print the help and exit'
complete -c roomd -l version -d 'print the version and exit'
