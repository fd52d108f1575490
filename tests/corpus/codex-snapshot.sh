# Snapshot file
# Unset all aliases to avoid conflicts with functions
unalias -a 2>/dev/null || true
# Functions
gawklibpath_append () 
{ 
    [ -z "$AWKLIBPATH" ] && AWKLIBPATH=`gawk 'BEGIN {print ENVIRON["AWKLIBPATH"]}'`;
    export AWKLIBPATH="$AWKLIBPATH:$*"
}
gawkpath_prepend () 
{ 
    [ -z "$AWKPATH" ] && AWKPATH=`gawk 'BEGIN {print ENVIRON["AWKPATH"]}'`;
    export AWKPATH="$*:$AWKPATH"
}
mkcd () 
{ 
    mkdir -p -- "$1" && cd -P -- "$1"
}
venv () 
{ 
    if [ -f .venv/bin/activate ]; then
        . .venv/bin/activate;
    else
        python3 -m venv .venv && . .venv/bin/activate;
    fi
}
gcb () 
{ 
    git checkout -b "$1" && git push -u origin "$1"
}
nvm_default_path () 
{ 
    local node_dir="$NVM_DIR/versions/node";
    ls -1 "$node_dir" 2> /dev/null | sort -V | tail -n 1
}
# Shell Options
shopt -u autocd
shopt -u cdable_vars
shopt -u cdspell
shopt -u checkhash
shopt -u checkjobs
shopt -u compat31
shopt -u compat32
shopt -u compat40
shopt -u compat41
shopt -u compat42
shopt -u compat43
shopt -u compat44
shopt -u direxpand
shopt -u dirspell
shopt -u dotglob
shopt -u execfail
shopt -u extdebug
shopt -u extglob
shopt -u failglob
shopt -u globasciiranges
shopt -u globstar
shopt -u gnu_errfmt
shopt -u histappend
shopt -u histreedit
shopt -u histverify
shopt -u huponexit
shopt -u inherit_errexit
shopt -u lastpipe
shopt -u lithist
shopt -u localvar_inherit
shopt -u localvar_unset
shopt -u mailwarn
shopt -u no_empty_cmd_completion
shopt -u nocaseglob
shopt -u nocasematch
shopt -u noexpand_translation
shopt -u nullglob
shopt -u patsub_replacement
shopt -u progcomp_alias
shopt -u shift_verbose
shopt -u varredir_close
shopt -u xpg_echo
shopt -s checkwinsize
shopt -s cmdhist
shopt -s complete_fullquote
shopt -s expand_aliases
shopt -s extquote
shopt -s force_fignore
shopt -s globskipdots
shopt -s hostcomplete
shopt -s interactive_comments
shopt -s progcomp
shopt -s promptvars
shopt -s sourcepath
set -o braceexpand
set -o hashall
set -o interactive-comments
# Aliases
alias egrep='egrep --color=auto'
alias fgrep='fgrep --color=auto'
alias grep='grep --color=auto'
alias l='ls -CF'
alias la='ls -A'
alias ll='ls -alF'
alias ls='ls --color=auto'
# Exports
export CARGO_HOME=/home/dev/.cargo
export CODEX_MANAGED_BY_NPM=1
export COLORTERM=truecolor
export EDITOR=vim
export GIT_PAGER=cat
export GOPATH=/home/dev/go
export HOME=/home/dev
export LANG=C.UTF-8
export LC_ALL=C.UTF-8
export LOGNAME=dev
export NO_COLOR=1
export NVM_DIR=/home/dev/.nvm
export PAGER=cat
export PATH=/home/dev/.cargo/bin:/home/dev/.local/bin:/home/dev/.nvm/versions/node/v22.11.0/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PYENV_ROOT=/home/dev/.pyenv
export RUSTUP_HOME=/home/dev/.rustup
export SHELL=/bin/bash
export SHLVL=1
export SSH_AUTH_SOCK=/run/user/1000/keyring/ssh
export TERM=xterm-256color
export TMPDIR=/tmp
export USER=dev
export VIRTUAL_ENV_DISABLE_PROMPT=1
export XDG_CONFIG_HOME=/home/dev/.config
export XDG_RUNTIME_DIR=/run/user/1000
