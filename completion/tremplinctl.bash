# bash completion for tremplinctl(1); installed as
# /usr/share/bash-completion/completions/tremplinctl.
#
# The commands come from `tremplinctl help`, so that new ones complete without
# a change here; API paths for get, post, patch and delete from the routes the
# daemon describes (GET /v1/openapi.json), when the daemon answers.

_tremplinctl_commands()
{
	tremplinctl help 2>/dev/null |
		awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }'
}

_tremplinctl_paths()
{
	local sock=$1
	tremplinctl ${sock:+-s "$sock"} -q get /v1/whoami >/dev/null 2>&1 || return
	tremplinctl ${sock:+-s "$sock"} get /v1/openapi.json 2>/dev/null |
		awk -F'"' '/^    "\/v1/ { print $2 }'
}

_tremplinctl()
{
	local cur prev words cword
	_init_completion || return

	local i cmd="" sock=""
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s | --socket)
			sock=${words[i + 1]}
			((i++))
			;;
		-*) ;;
		*)
			cmd=${words[i]}
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		-s | --socket)
			_filedir
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-s --socket -q --quiet -h --help -V --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_tremplinctl_commands)" -- "$cur"))
		fi
		return
	fi

	case $cmd in
	get | post | patch | delete)
		if ((cword == i + 1)); then
			COMPREPLY=($(compgen -W "$(_tremplinctl_paths "$sock")" -- "$cur"))
		fi
		;;
	backup)
		_filedir
		;;
	export)
		((cword == i + 2)) && _filedir
		;;
	retention)
		((cword == i + 1)) && COMPREPLY=($(compgen -W '--dry-run --confirm' -- "$cur"))
		;;
	demo)
		case $prev in
		--database) _filedir ;;
		*) COMPREPLY=($(compgen -W '--database --as --employees --years --seed --help' -- "$cur")) ;;
		esac
		;;
	esac
} &&
	complete -F _tremplinctl tremplinctl
