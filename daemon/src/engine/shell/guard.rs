//! Input that brush-parser 0.4 cannot take is refused before it gets there: nesting that
//! would make it recurse without bound, and the constructs on which it panics or takes
//! exponential time (each found by fuzzing).

use brush_parser::Token;

use super::{ShellError, MAX_DEPTH};

/// Deepest nesting of subshells and `case` the parser is given: on input that turns out
/// invalid, brush-parser 0.4 backtracks over them in time exponential in their depth
/// (found by fuzzing: 24 unclosed `(` take a second).
pub(super) const MAX_BACKTRACKING_DEPTH: usize = 10;

/// Checks the raw text, before tokenizing.
pub(super) fn check_text(text: &[u8]) -> Result<(), ShellError> {
    if bracket_depth(text) > MAX_DEPTH {
        return Err(ShellError::TooDeep);
    }
    if control_character_delimiter(text) {
        return Err(ShellError::Syntax(
            "here-document delimiter starts with a carriage return or form feed".to_string(),
        ));
    }
    Ok(())
}

/// Checks the tokens, before parsing.
pub(super) fn check_tokens(tokens: &[Token]) -> Result<(), ShellError> {
    let nesting = command_nesting(tokens);
    if nesting.all > MAX_DEPTH || nesting.backtracking > MAX_BACKTRACKING_DEPTH {
        return Err(ShellError::TooDeep);
    }
    refuse_parser_traps(tokens)
}

/// `<< \r…`: brush-parser 0.4's tokenizer never finishes on a here-document delimiter that
/// starts with a carriage return or a form feed (found by fuzzing), so such input is refused
/// unparsed.
fn control_character_delimiter(text: &[u8]) -> bool {
    text.windows(2).enumerate().any(|(at, pair)| {
        pair == b"<<"
            && text[at + 2..]
                .iter()
                .skip_while(|&&b| b == b'-')
                .find(|&&b| b != b' ' && b != b'\t')
                .is_some_and(|&b| b == b'\r' || b == b'\x0c')
    })
}

/// Input on which brush-parser 0.4 panics or takes exponential time (found by fuzzing) is
/// refused before it reaches the parser, which looks at every word while parsing.
fn refuse_parser_traps(tokens: &[Token]) -> Result<(), ShellError> {
    if io_number_overflow(tokens) {
        return Err(ShellError::Syntax(
            "file descriptor number too large".to_string(),
        ));
    }
    for token in tokens {
        let Token::Word(word, _) = token else {
            continue;
        };
        if unclosed_array_indexes(word) > 1 {
            return Err(ShellError::Syntax(format!(
                "unclosed array indexes in {word:?}"
            )));
        }
        if tilde_number_overflow(word) {
            return Err(ShellError::Syntax(format!(
                "directory stack number too large in {word:?}"
            )));
        }
    }
    Ok(())
}

/// `99999999999>f`: brush-parser 0.4 panics on an I/O number that does not fit an `i32`.
fn io_number_overflow(tokens: &[Token]) -> bool {
    tokens.windows(2).any(|pair| match pair {
        [Token::Word(number, _), Token::Operator(op, _)] => {
            op.starts_with(['<', '>'])
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
                && number.parse::<i32>().is_err()
        }
        _ => false,
    })
}

/// How many `${NAME[` have no `]` before the next `}`: brush-parser 0.4's word parser takes
/// time exponential in their number (found by fuzzing; five take seconds).
fn unclosed_array_indexes(word: &str) -> usize {
    word.match_indices("${")
        .filter(|&(at, _)| {
            let rest = word[at + 2..].trim_start_matches(['#', '!']);
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
            rest.strip_prefix('[').is_some_and(|index| {
                let end = index.find('}').unwrap_or(index.len());
                !index[..end].contains(']')
            })
        })
        .count()
}

/// `~+99999999999999999999`: brush-parser 0.4 panics on a directory stack index that does
/// not fit a `usize`.
fn tilde_number_overflow(word: &str) -> bool {
    word.split('~').skip(1).any(|after| {
        let digits = after.trim_start_matches(['+', '-']);
        digits.bytes().take_while(u8::is_ascii_digit).count() > 18
    })
}

/// The deepest nesting of brackets, counted before parsing so that the parser never
/// recurses without bound. Quotes are ignored, which can only overestimate.
fn bracket_depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for &b in text {
        match b {
            b'(' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// How deeply compound commands nest in a token stream.
struct Nesting {
    /// All compound commands (`if`, loops, groups, `[[`, subshells…).
    all: usize,
    /// Subshells and `case`, on which the parser backtracks.
    backtracking: usize,
}

/// The nesting of compound commands in a token stream, checked before parsing because the
/// parser recurses once per level. Keywords count only where the shell reads them as
/// keywords (in command position), as the parser does.
fn command_nesting(tokens: &[Token]) -> Nesting {
    const OPENERS: &[&str] = &[
        "if", "while", "until", "for", "select", "case", "{", "[[", "!", "function", "coproc",
        "time",
    ];
    const CLOSERS: &[&str] = &["fi", "done", "esac", "}", "]]"];
    const BEFORE_COMMAND: &[&str] = &[
        "then", "do", "else", "elif", "if", "while", "until", "!", "{", "time", "coproc",
    ];
    let (mut depth, mut parens, mut cases) = (0usize, 0usize, 0usize);
    let mut deepest = Nesting {
        all: 0,
        backtracking: 0,
    };
    let mut command_position = true;
    for token in tokens {
        match token {
            Token::Operator(op, _) => {
                match op.as_str() {
                    "(" => {
                        parens += 1;
                        depth += 1;
                    }
                    ")" if parens > 0 => {
                        parens -= 1;
                        depth = depth.saturating_sub(1);
                    }
                    _ => {}
                }
                command_position = !op.contains(['<', '>']);
            }
            Token::Word(word, _) => {
                let word = word.as_str();
                if command_position && OPENERS.contains(&word) {
                    depth += 1;
                    cases += usize::from(word == "case");
                } else if command_position && CLOSERS.contains(&word) {
                    depth = depth.saturating_sub(1);
                    if word == "esac" {
                        cases = cases.saturating_sub(1);
                    }
                }
                command_position = BEFORE_COMMAND.contains(&word);
            }
        }
        deepest.all = deepest.all.max(depth);
        deepest.backtracking = deepest.backtracking.max(parens + cases);
    }
    deepest
}
