# bash completion for roomd(8). The option list mirrors roomd's option
# table (daemon/config.c); tests/completions.bats compares it with
# `roomd --help`.

_roomd() {
	local cur prev
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}

	case $prev in
	--config | --auth-secret-file | --tls-cert | --tls-key | --api-key-file | \
	    --webhook-secret-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--log-level)
		COMPREPLY=($(compgen -W 'debug info warn error' -- "$cur"))
		return 0
		;;
	--log-format)
		COMPREPLY=($(compgen -W 'text json' -- "$cur"))
		return 0
		;;
	--listen | --redis | --redis-cluster | --redis-password | --prefix | \
	    --auth-secret | --node-id | \
	    --history | --room-ttl | --empty-ttl | --max-frame | \
	    --max-state | --max-rooms-per-conn | --max-conns | --rate | --workers | \
	    --api-key | --connect-url | --publish-url | --publish-events | \
	    --hook-timeout | --webhook-url | --webhook-secret | --webhook-events | \
	    --webhook-retry)
		return 0
		;;
	esac
	COMPREPLY=($(compgen -W '--listen --redis --redis-cluster
	    --redis-password --prefix --config
	    --auth-secret --auth-secret-file --insecure --node-id --history
	    --room-ttl --empty-ttl --max-frame --max-state --max-rooms-per-conn
	    --max-conns --rate --log-level --log-format --tls-cert --tls-key
	    --reuse-port --workers --api-key --api-key-file
	    --connect-url --publish-url --publish-events --hook-timeout
	    --webhook-url --webhook-secret --webhook-secret-file --webhook-events
	    --webhook-retry --check-config --help --version' -- "$cur"))
	return 0
}

complete -F _roomd roomd
