#!/bin/sh
# run.sh: what `make run` does after building: start a local redis-server
# (files under build/run/) unless one already answers on ROOMD_REDIS, then
# run roomd in the foreground. Extra roomd options go in ROOMD_ARGS.
set -u
redis_url=${ROOMD_REDIS:-redis://127.0.0.1:6379/0}
rundir=build/run
mkdir -p "$rundir"

hostport=${redis_url#redis://}
hostport=${hostport#*@}
hostport=${hostport%%/*}
host=${hostport%%:*}
port=${hostport##*:}
[ "$port" = "$hostport" ] && port=6379

case "$redis_url" in
redis://*)
	if ! redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1; then
		echo "run: starting redis-server on $host:$port (files in $rundir)"
		redis-server --bind "$host" --port "$port" --dir "$rundir" \
		    --save '' --appendonly no --daemonize yes \
		    --pidfile "$PWD/$rundir/redis.pid" \
		    --logfile "$PWD/$rundir/redis.log" || exit 1
		i=0
		until redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1; do
			i=$((i + 1))
			[ $i -gt 50 ] && { echo "run: redis did not start" >&2; exit 1; }
			sleep 0.1
		done
	fi
	;;
esac
echo "run: roomd on ws://${ROOMD_LISTEN:-127.0.0.1:7700}/ws (Ctrl-C stops it)"
# shellcheck disable=SC2086
exec build/roomd --redis "$redis_url" ${ROOMD_ARGS:-}
