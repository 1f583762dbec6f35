# bash completion for roomctl(1).
#
# The command and option lists mirror roomctl's command table (cli/cmd.c);
# tests/completions.bats compares them with `roomctl help`, so a change
# there must be made here too. Room names come live from Redis, bounded by
# `timeout 1` so a completion never hangs on an unreachable server.

_roomctl_commands='help version nodes rooms inspect evict replay publish gc webhooks sim token'

# _roomctl_options COMMAND: the options COMMAND takes.
_roomctl_options() {
	case $1 in
	nodes | gc | webhooks) echo '--json' ;;
	rooms) echo '--all --limit --json' ;;
	inspect) echo '--events --json' ;;
	evict) echo '--conn --user --reason --disconnect --json' ;;
	replay) echo '--since --until --count --follow --into --speed --json' ;;
	publish) echo '--json' ;;
	sim) echo '--url --clients --room --token --transcript --rooms --rate --duration --json --ca --insecure-tls' ;;
	token) echo '--sub --secret --secret-file --ttl --rooms --publish --admin' ;;
	esac
}

# _roomctl_rooms REDIS PREFIX: room names, most members first, one a line.
_roomctl_rooms() {
	local args=(--json)
	[ -n "$1" ] && args+=(--redis "$1")
	[ -n "$2" ] && args+=(--prefix "$2")
	timeout 1 "${_roomctl_bin:-roomctl}" "${args[@]}" rooms --all \
	    --limit 1000 2>/dev/null |
	    grep -oE '\{"room":"[A-Za-z0-9_.:-]{1,64}"' | cut -d'"' -f4
}

_roomctl() {
	local cur prev cmd= redis= prefix= i=1 w npos=0 opts
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	_roomctl_bin=${COMP_WORDS[0]}

	# Global options, then the command.
	while [ $i -lt "$COMP_CWORD" ]; do
		w=${COMP_WORDS[i]}
		case $w in
		--redis | --prefix | --redis-cluster | --redis-password)
			[ "$w" = --redis ] && redis=${COMP_WORDS[i + 1]}
			[ "$w" = --prefix ] && prefix=${COMP_WORDS[i + 1]}
			i=$((i + 2))
			continue
			;;
		--redis=*) redis=${w#--redis=} ;;
		--prefix=*) prefix=${w#--prefix=} ;;
		-*) ;;
		*)
			cmd=$w
			break
			;;
		esac
		i=$((i + 1))
	done

	if [ -z "$cmd" ]; then
		case $prev in
		--redis | --prefix | --redis-cluster | --redis-password) return 0 ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--redis --redis-cluster --redis-password --prefix --json --help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_roomctl_commands" -- "$cur"))
		fi
		return 0
	fi

	# The option's value, when the previous word wants one.
	case $cmd:$prev in
	replay:--into | sim:--room)
		COMPREPLY=($(compgen -W "$(_roomctl_rooms "$redis" "$prefix")" -- "$cur"))
		return 0
		;;
	sim:--transcript | sim:--ca | token:--secret-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	rooms:--limit | inspect:--events | evict:--conn | evict:--user | \
	    evict:--reason | replay:--since | replay:--until | replay:--count | \
	    replay:--speed | sim:--url | sim:--clients | sim:--token | \
	    sim:--rooms | sim:--rate | sim:--duration | token:--sub | \
	    token:--secret | token:--ttl | token:--rooms | token:--publish)
		return 0
		;;
	esac

	if [[ $cur == -* ]]; then
		opts=$(_roomctl_options "$cmd")
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return 0
	fi

	# Positional arguments: count those before the cursor.
	for ((w = i + 1; w < COMP_CWORD; w++)); do
		case ${COMP_WORDS[w]} in
		--limit | --events | --conn | --user | --reason | --since | \
		    --until | --count | --into | --speed | --url | --clients | \
		    --room | --token | --transcript | --rooms | --rate | \
		    --duration | --sub | --secret | --secret-file | --ttl | \
		    --publish)
			[ "$cmd" = publish ] || w=$((w + 1))
			;;
		-*) ;;
		*) npos=$((npos + 1)) ;;
		esac
	done
	case $cmd in
	help)
		[ $npos -eq 0 ] &&
		    COMPREPLY=($(compgen -W "$_roomctl_commands" -- "$cur"))
		;;
	inspect | evict | replay | publish)
		[ $npos -eq 0 ] &&
		    COMPREPLY=($(compgen -W "$(_roomctl_rooms "$redis" "$prefix")" -- "$cur"))
		;;
	sim)
		[ $npos -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))
		;;
	esac
	return 0
}

complete -F _roomctl roomctl
