//! A stand-in for the model API on loopback, so that `codex exec` runs a real turn without a
//! real model: the first request of a conversation is answered with one shell command (a
//! function call to the command tool Codex offers), the next one, which carries the
//! command's output, with a final message. Codex speaks the Responses API over
//! server-sent events.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// A model that asks Codex to run `command`, listening until dropped (the thread ends with
/// the test process).
pub struct Model {
    port: u16,
}

impl Model {
    pub fn asking_to_run(command: &str) -> Model {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
        let port = listener.local_addr().unwrap().port();
        let command = command.to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let command = command.clone();
                std::thread::spawn(move || answer(stream, &command));
            }
        });
        Model { port }
    }

    /// `codex` arguments selecting this model: a provider on loopback.
    pub fn codex_args(&self) -> Vec<String> {
        vec![
            "-c".into(),
            "model_provider=\"stand-in\"".into(),
            "-c".into(),
            format!(
                "model_providers.stand-in={{name=\"stand-in\",base_url=\"http://127.0.0.1:{}/v1\",wire_api=\"responses\"}}",
                self.port
            ),
            "-c".into(),
            "model=\"gpt-5\"".into(),
        ]
    }
}

/// Answers each request on one connection.
fn answer(stream: TcpStream, command: &str) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the connection"));
    let mut stream = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let events = turn(&request, command);
        let body: String = events
            .iter()
            .map(|event| {
                format!(
                    "event: {}\ndata: {event}\n\n",
                    event["type"].as_str().unwrap()
                )
            })
            .collect();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// The events of one model turn: the command first, then (once its output came back) the
/// final message.
fn turn(request: &serde_json::Value, command: &str) -> Vec<serde_json::Value> {
    let inputs = request["input"].as_array().cloned().unwrap_or_default();
    let answered = inputs.iter().any(|i| i["type"] == "function_call_output");
    let tools: Vec<String> = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(String::from))
        .collect();
    let usage = serde_json::json!({
        "input_tokens": 0, "input_tokens_details": null,
        "output_tokens": 0, "output_tokens_details": null, "total_tokens": 0
    });
    let item = if answered {
        serde_json::json!({
            "type": "message", "role": "assistant", "id": "message-1",
            "content": [{"type": "output_text", "text": "done"}]
        })
    } else {
        // The command tool's name and arguments changed across Codex versions.
        let (name, arguments) = if tools.iter().any(|t| t == "exec_command") {
            ("exec_command", serde_json::json!({ "cmd": command }))
        } else {
            (
                "shell",
                serde_json::json!({ "command": ["bash", "-lc", command] }),
            )
        };
        serde_json::json!({
            "type": "function_call", "call_id": "call-1", "name": name,
            "arguments": arguments.to_string()
        })
    };
    vec![
        serde_json::json!({"type": "response.created", "response": {"id": "response-1"}}),
        serde_json::json!({"type": "response.output_item.done", "item": item}),
        serde_json::json!({"type": "response.completed", "response": {"id": "response-1", "usage": usage}}),
    ]
}
