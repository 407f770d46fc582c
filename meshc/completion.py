"""Shell completion scripts for bash, zsh and fish, generated from the command-line definition.

The scripts are static: commands, options, the values of choice options and the rule codes are
written into them when they are generated, so a TAB costs no Python start-up. Paths (`PATHS`,
`FILE`, `TESTS`) are completed by the shell's own file completion; `--select` and `--ignore`
complete rule codes and names, also after a comma (`--select MC101,MC2<TAB>`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

SHELLS = ("bash", "zsh", "fish")

FILE_METAVARS = ("FILE", "PATHS", "TESTS", "OLD NEW | PATHS")
"""Metavars of values that are paths: completed with the shell's file completion."""
LIST_METAVARS = ("CODES",)
"""Metavars of comma-separated lists: each item after a comma is completed too."""


@dataclass
class Option:
    """One option of a command, as the scripts need it."""

    names: list[str]
    help: str
    takes_value: bool
    files: bool = False
    values: list[tuple[str, str]] = field(default_factory=list)
    """Words to offer for the value, with a description."""
    comma_list: bool = False
    repeatable: bool = False


@dataclass
class Command:
    """One command: its options, and whether its positional arguments are paths or words."""

    name: str
    help: str
    options: list[Option]
    files: bool = False
    words: list[tuple[str, str]] = field(default_factory=list)


def describe(group: Any, extra: Callable[[str], list[tuple[str, str]]] | None = None) -> list[Command]:
    """The commands of a click/typer group as completion specs.

    `extra(command)` gives the words for a command's positional argument when they are not paths
    (rule codes for `meshc rule`, kinds for `meshc schema`).
    """
    out: list[Command] = []
    for name, cmd in sorted(group.commands.items()):
        if getattr(cmd, "hidden", False):
            continue
        options: list[Option] = [Option(["-h", "--help"], "Show the help and exit.", False)]
        files = False
        for p in cmd.params:
            if p.param_type_name == "argument":
                files = files or (p.metavar or "") in FILE_METAVARS
                continue
            takes_value = not getattr(p, "is_flag", False) and not getattr(p, "count", False)
            metavar = p.metavar or ""
            values: list[tuple[str, str]] = []
            if takes_value and metavar not in FILE_METAVARS:
                values = _static_values(cmd, p)
            options.append(
                Option(
                    [*p.opts, *p.secondary_opts],
                    _first_sentence(p.help or ""),
                    takes_value,
                    files=metavar in FILE_METAVARS,
                    values=values,
                    comma_list=metavar in LIST_METAVARS,
                    repeatable=bool(getattr(p, "multiple", False)),
                )
            )
        out.append(Command(name, _first_sentence(cmd.help or ""), options, files, extra(name) if extra else []))
    return out


def _static_values(cmd: Any, param: Any) -> list[tuple[str, str]]:
    """The values a parameter's completion offers for an empty word (choices, rule codes)."""
    try:
        ctx = cmd.make_context(cmd.name, [], resilient_parsing=True)
        items = param.shell_complete(ctx, "")
    except Exception:  # a parameter without static values
        return []
    return [(str(i.value), str(i.help or "")) for i in items]


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    return (text[: end + 1] if end >= 0 else text).rstrip(".")


def script(shell: str, prog: str, commands: list[Command], globals_: Iterable[Option]) -> str:
    """The completion script for one shell."""
    if shell == "bash":
        return _bash(prog, commands, list(globals_))
    if shell == "zsh":
        return _zsh(prog, commands, list(globals_))
    if shell == "fish":
        return _fish(prog, commands, list(globals_))
    raise ValueError(f"unknown shell `{shell}`")


# --- bash ----------------------------------------------------------------------------------------------


def _sh_words(words: Iterable[str]) -> str:
    """Words for a shell single-quoted string (completion words never hold a quote)."""
    return " ".join(w for w in words if "'" not in w)


def _ident(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _bash(prog: str, commands: list[Command], globals_: list[Option]) -> str:
    fn = f"_{_ident(prog)}_complete"
    top = [c.name for c in commands] + [n for o in globals_ for n in o.names]
    lines = [
        f'# bash completion for {prog}: eval "$({prog} completion bash)" (or save it in',
        f"# ~/.local/share/bash-completion/completions/{prog})",
        f"{fn}() {{",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" i',
        '    (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"',
        "    for (( i = 1; i < COMP_CWORD; i++ )); do",
        '        case "${COMP_WORDS[i]}" in -*) ;; *) cmd="${COMP_WORDS[i]}"; break ;; esac',
        "    done",
        "    COMPREPLY=()",
        '    if [[ -z "$cmd" ]]; then',
        f"        COMPREPLY=( $(compgen -W '{_sh_words(top)}' -- \"$cur\") )",
        "        return 0",
        "    fi",
        '    case "$cmd" in',
    ]
    for c in commands:
        lines.append(f"    {c.name})")
        lines.append('        case "$prev" in')
        for o in c.options:
            if not o.takes_value:
                continue
            pattern = "|".join(o.names)
            if o.files:
                lines.append(f"            {pattern}) {fn}_files; return 0 ;;")
            elif o.values and o.comma_list:
                words = _sh_words(v for v, _ in o.values)
                lines.append(
                    f'            {pattern}) local head=\'\'; [[ "$cur" == *,* ]] && head="${{cur%,*}},"; '
                    f'COMPREPLY=( $(compgen -P "$head" -W \'{words}\' -- "${{cur##*,}}") ); return 0 ;;'
                )
            elif o.values:
                words = _sh_words(v for v, _ in o.values)
                lines.append(f"            {pattern}) COMPREPLY=( $(compgen -W '{words}' -- \"$cur\") ); return 0 ;;")
            else:
                lines.append(f"            {pattern}) return 0 ;;")
        lines.append("        esac")
        opts = _sh_words(n for o in c.options for n in o.names)
        lines.append('        if [[ "$cur" == -* ]]; then')
        lines.append(f"            COMPREPLY=( $(compgen -W '{opts}' -- \"$cur\") )")
        if c.files:
            lines.append("        else")
            lines.append(f"            {fn}_files")
        elif c.words:
            lines.append("        else")
            lines.append(f"            COMPREPLY=( $(compgen -W '{_sh_words(w for w, _ in c.words)}' -- \"$cur\") )")
        lines.append("        fi")
        lines.append("        ;;")
    lines += [
        "    esac",
        "    return 0",
        "}",
        f"{fn}_files() {{",
        "    compopt -o filenames 2>/dev/null",
        '    COMPREPLY=( $(compgen -f -- "$cur") )',
        "}",
        f"complete -F {fn} {prog}",
        "",
    ]
    return "\n".join(lines)


# --- zsh -----------------------------------------------------------------------------------------------


def _zq(text: str) -> str:
    """Text inside a zsh single-quoted `_arguments` spec: no quotes, brackets or colons to misread."""
    return re.sub(r"[\[\]:'`\\]", "", text)


def _zsh(prog: str, commands: list[Command], globals_: list[Option]) -> str:
    fn = f"_{_ident(prog)}"
    lines = [
        f"#compdef {prog}",
        f"# zsh completion for {prog}: save as _{prog} in a folder of $fpath (then compinit), or",
        f'# eval "$({prog} completion zsh)" after compinit',
    ]
    lists: dict[tuple[tuple[str, str], ...], str] = {}
    for c in commands:
        specs = []
        for o in c.options:
            excl = f"({' '.join(o.names)})" if len(o.names) > 1 else ""
            repeat = "*" if o.repeatable else ""
            names = o.names if len(o.names) == 1 else None
            action = ""
            if o.takes_value:
                if o.files:
                    action = ":file:_files"
                elif o.values and o.comma_list:
                    key = tuple(o.values)
                    if key not in lists:
                        lists[key] = f"{fn}_list_{len(lists) + 1}"
                        values = " ".join(f"'{_zq(v)}[{_zq(h)}]'" for v, h in o.values)
                        lines.append(f"{lists[key]}() {{ _values -s , value {values} }}")
                    action = f":value:{lists[key]}"
                elif o.values:
                    action = f":value:({' '.join(_zq(v) for v, _ in o.values)})"
                else:
                    action = ":value: "
            suffix = "=" if o.takes_value and all(n.startswith("--") for n in o.names) else ""
            if names:
                specs.append(f"'{repeat}{names[0]}{suffix}[{_zq(o.help)}]{action}'")
            else:
                for n in o.names:
                    eq = "=" if o.takes_value and n.startswith("--") else ""
                    specs.append(f"'{excl}{repeat}{n}{eq}[{_zq(o.help)}]{action}'")
        if c.files:
            specs.append("'*:file:_files'")
        elif c.words:
            specs.append(f"'1:value:({' '.join(_zq(w) for w, _ in c.words)})'")
        lines.append(f"{fn}_{_ident(c.name)}() {{")
        lines.append("    _arguments -s \\")
        lines += [f"        {s} \\" for s in specs]
        lines[-1] = lines[-1].removesuffix(" \\")
        lines.append("}")
    described = " ".join(f"'{c.name}:{_zq(c.help)}'" for c in commands)
    gspecs = " ".join(f"'({' '.join(o.names)})'{{{','.join(o.names)}}}'[{_zq(o.help)}]'" for o in globals_)
    lines += [
        f"{fn}() {{",
        '    local curcontext="$curcontext" state line',
        "    typeset -A opt_args",
        f"    _arguments -C {gspecs} '1:command:->command' '*::argument:->argument'",
        '    case "$state" in',
        "        command)",
        f"            local -a commands=({described})",
        "            _describe -t commands command commands",
        "            ;;",
        "        argument)",
        f"            (( $+functions[{fn}_${{line[1]}}] )) && {fn}_${{line[1]}}",
        "            ;;",
        "    esac",
        "}",
        f'if [[ "$funcstack[1]" == "_{prog}" ]]; then',
        f'    {fn} "$@"',
        "else",
        f"    compdef {fn} {prog}",
        "fi",
        "",
    ]
    return "\n".join(lines)


# --- fish ----------------------------------------------------------------------------------------------


def _fq(text: str) -> str:
    """A fish single-quoted string."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(prog: str, commands: list[Command], globals_: list[Option]) -> str:
    lists: dict[tuple[tuple[str, str], ...], str] = {}
    lines = [
        f"# fish completion for {prog}: {prog} completion fish > ~/.config/fish/completions/{prog}.fish",
        f"complete -c {prog} -e",
        f"complete -c {prog} -f",
        f"function __{prog}_list_item --description 'complete one item of a comma-separated list'",
        "    set -l token (commandline -ct)",
        "    set -l head (string replace -r '[^,]*$' '' -- $token)",
        "    for item in $argv",
        '        printf "%s%s\\n" $head $item',
        "    end",
        "end",
    ]
    for o in globals_:
        lines.append(f"complete -c {prog} -n __fish_use_subcommand {_fish_names(o)} -d {_fq(o.help)}")
    for c in commands:
        lines.append(f"complete -c {prog} -n __fish_use_subcommand -a {c.name} -d {_fq(c.help)}")
    for c in commands:
        cond = f"-n '__fish_seen_subcommand_from {c.name}'"
        for o in c.options:
            parts = [f"complete -c {prog} {cond} {_fish_names(o)}"]
            if o.takes_value and o.files:
                parts.append("-r -F")
            elif o.takes_value and o.values and o.comma_list:
                key = tuple(o.values)
                if key not in lists:
                    lists[key] = f"__{_ident(prog)}_list_{len(lists) + 1}"
                    items = " ".join(_fq(f"{v}\t{h}") for v, h in o.values)
                    lines.append(f"function {lists[key]}; __{prog}_list_item {items}; end")
                parts.append(f"-x -a '({lists[key]})'")
            elif o.takes_value and o.values:
                parts.append(f"-x -a {_fq(' '.join(v for v, _ in o.values))}")
            elif o.takes_value:
                parts.append("-x")
            parts.append(f"-d {_fq(o.help)}")
            lines.append(" ".join(parts))
        if c.files:
            lines.append(f"complete -c {prog} {cond} -F")
        elif c.words:
            lines.append(f"complete -c {prog} {cond} -a {_fq(' '.join(w for w, _ in c.words))}")
    lines.append("")
    return "\n".join(lines)


def _fish_names(o: Option) -> str:
    out = []
    for n in o.names:
        out.append(f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}")
    return " ".join(out)
