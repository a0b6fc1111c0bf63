//! The end-to-end environment: one moto server (a real AWS API protocol on loopback) per
//! test binary, a terraform CLI config pointing at the provider mirror, the environment
//! that sends the AWS provider and SDK to the emulator — and nowhere else — and the probe
//! that reads the emulator back through the AWS SDK for Rust: the tests check the emulator
//! itself, never terraform's account of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Emulator {
    pub endpoint: String,
    /// Holds the terraform CLI config for the whole test binary; removed when it exits.
    config_dir: PathBuf,
    /// The probe's own runtime and clients.
    runtime: tokio::runtime::Runtime,
    clients: Clients,
    _child: Child,
}

struct Clients {
    lambda: aws_sdk_lambda::Client,
    s3: aws_sdk_s3::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    iam: aws_sdk_iam::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

/// Started on first use; it exits when this test binary does (it watches its parent).
pub fn emulator() -> &'static Emulator {
    EMULATOR.get_or_init(Emulator::start)
}

/// moto, exiting (and removing the test binary's scratch dir) once its parent is gone.
const WATCHED_SERVER: &str = r#"
import os, shutil, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    shutil.rmtree(sys.argv[2], ignore_errors=True)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"#;

impl Emulator {
    fn start() -> Self {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let config_dir =
            std::env::temp_dir().join(format!("lambda-gitops-e2e-{}", std::process::id()));
        std::fs::create_dir_all(&config_dir).unwrap();
        std::fs::write(config_dir.join("terraform.rc"), cli_config()).unwrap();
        let child = Command::new("python3")
            .args([
                "-c",
                WATCHED_SERVER,
                &port.to_string(),
                &config_dir.to_string_lossy(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with moto[server] (scripts/test installs it)");
        // Ready when it accepts a connection (moto imports for a second or two first).
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let clients = runtime.block_on(Clients::new(&endpoint));
        Self {
            endpoint,
            config_dir,
            runtime,
            clients,
            _child: child,
        }
    }

    /// The variables a process needs to talk to the emulator with terraform.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            (
                "TF_CLI_CONFIG_FILE",
                &self.config_dir.join("terraform.rc").to_string_lossy(),
            ),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// Reads or prepares the emulator; the answer as JSON.
    ///
    /// `create-buckets B...` | `functions PREFIX` | `notifications BUCKET` | `objects BUCKET`
    /// | `put BUCKET KEY FILE` | `get BUCKET KEY` (the body) | `policy FUNCTION QUALIFIER`
    /// | `log-groups PREFIX` | `create-log-group NAME` | `roles PREFIX` | `publish-layer NAME`
    /// | `tag FUNCTION KEY VALUE` | `function NAME ZIP TAG` (created with a role, tagged
    /// `version=TAG` unless `-`) | `publish NAME` (a version, and `live` on it)
    /// | `code NAME ZIP` (new `$LATEST` code) | `set-memory FUNCTION MB` (a change outside the
    /// gitops repo: drift) | `alias FUNCTION` (`live`: `{"version", "weights"}`)
    /// | `alarm NAME STATE` (a metric alarm, created when missing, put in `OK`, `ALARM` or
    /// `INSUFFICIENT_DATA`)
    pub fn probe(&self, args: &[&str]) -> Value {
        let clients = &self.clients;
        // On the probe's own runtime, from a thread of its own: a test may hold a runtime.
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.runtime.block_on(clients.probe(args)))
                .join()
                .unwrap()
        })
    }

    /// Creates each of `buckets` in `region` unless it is there already.
    pub fn ensure_buckets(&self, region: &str, buckets: &[String]) {
        let mut args = vec!["ensure-buckets", region];
        args.extend(buckets.iter().map(String::as_str));
        self.probe(&args);
    }

    pub fn create_buckets(&self, buckets: &[&str]) {
        let mut args = vec!["create-buckets"];
        args.extend_from_slice(buckets);
        self.probe(&args);
    }
}

impl Clients {
    async fn new(endpoint: &str) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await;
        Self {
            lambda: aws_sdk_lambda::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config)
                    .force_path_style(true)
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
        }
    }

    async fn probe(&self, args: &[&str]) -> Value {
        match args {
            ["create-buckets", buckets @ ..] => {
                for bucket in buckets {
                    self.s3
                        .create_bucket()
                        .bucket(*bucket)
                        .send()
                        .await
                        .unwrap();
                }
                Value::Null
            }
            ["ensure-buckets", region, buckets @ ..] => {
                for bucket in buckets {
                    if self.s3.head_bucket().bucket(*bucket).send().await.is_ok() {
                        continue;
                    }
                    let mut create = self.s3.create_bucket().bucket(*bucket);
                    if *region != "us-east-1" {
                        create = create.create_bucket_configuration(
                            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                                .location_constraint((*region).into())
                                .build(),
                        );
                    }
                    // Another test of this binary may have created it meanwhile, or the
                    // name is one a test expects refused: the run under test says so.
                    let _ = create.send().await;
                }
                Value::Null
            }
            ["functions", prefix] => self.functions(prefix).await,
            ["alias", function] => self.alias(function).await,
            ["alarm", name, state] => {
                self.alarm(name, state).await;
                Value::Null
            }
            ["notifications", bucket] => self.notifications(bucket).await,
            ["policy", function, qualifier] => self.policy(function, Some(qualifier)).await,
            ["log-groups", prefix] => self.log_groups(prefix).await,
            ["create-log-group", name] => {
                self.logs
                    .create_log_group()
                    .log_group_name(*name)
                    .send()
                    .await
                    .unwrap();
                Value::Null
            }
            ["roles", prefix] => self.roles(prefix).await,
            ["publish-layer", name] => {
                let zip = zip_of("python/dep.py", "x = 1\n");
                let layer = self
                    .lambda
                    .publish_layer_version()
                    .layer_name(*name)
                    .content(
                        aws_sdk_lambda::types::LayerVersionContentInput::builder()
                            .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
                json!(layer.layer_version_arn())
            }
            ["tag", function, key, value] => {
                let arn = self
                    .lambda
                    .get_function()
                    .function_name(*function)
                    .send()
                    .await
                    .unwrap()
                    .configuration()
                    .and_then(|c| c.function_arn())
                    .unwrap()
                    .to_owned();
                self.lambda
                    .tag_resource()
                    .resource(arn)
                    .tags(*key, *value)
                    .send()
                    .await
                    .unwrap();
                Value::Null
            }
            ["function", name, zip, tag] => {
                let role = self
                    .iam
                    .create_role()
                    .role_name(format!("role-{name}"))
                    .assume_role_policy_document(
                        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
                        .to_string(),
                    )
                    .send()
                    .await
                    .unwrap();
                let mut create = self
                    .lambda
                    .create_function()
                    .function_name(*name)
                    .runtime(aws_sdk_lambda::types::Runtime::Python312)
                    .role(role.role().map(|r| r.arn()).unwrap())
                    .handler("app.handler")
                    .code(
                        aws_sdk_lambda::types::FunctionCode::builder()
                            .zip_file(std::fs::read(zip).unwrap().into())
                            .build(),
                    );
                if *tag != "-" {
                    create = create.tags("version", *tag);
                }
                create.send().await.unwrap();
                Value::Null
            }
            ["publish", name] => {
                let version = self
                    .lambda
                    .publish_version()
                    .function_name(*name)
                    .send()
                    .await
                    .unwrap()
                    .version()
                    .unwrap()
                    .to_owned();
                let updated = self
                    .lambda
                    .update_alias()
                    .function_name(*name)
                    .name("live")
                    .function_version(&version)
                    .send()
                    .await;
                if updated.is_err() {
                    self.lambda
                        .create_alias()
                        .function_name(*name)
                        .name("live")
                        .function_version(&version)
                        .send()
                        .await
                        .unwrap();
                }
                Value::Null
            }
            ["code", name, zip] => {
                self.lambda
                    .update_function_code()
                    .function_name(*name)
                    .zip_file(std::fs::read(zip).unwrap().into())
                    .send()
                    .await
                    .unwrap();
                Value::Null
            }
            ["objects", bucket] => {
                let listing = self
                    .s3
                    .list_objects_v2()
                    .bucket(*bucket)
                    .send()
                    .await
                    .unwrap();
                let mut keys: Vec<&str> =
                    listing.contents().iter().filter_map(|o| o.key()).collect();
                keys.sort();
                json!(keys)
            }
            ["put", bucket, key, file] => {
                let body = std::fs::read(file).unwrap();
                self.s3
                    .put_object()
                    .bucket(*bucket)
                    .key(*key)
                    .body(body.into())
                    .send()
                    .await
                    .unwrap();
                Value::Null
            }
            ["get", bucket, key] => {
                let object = self
                    .s3
                    .get_object()
                    .bucket(*bucket)
                    .key(*key)
                    .send()
                    .await
                    .unwrap();
                let bytes = object.body.collect().await.unwrap().into_bytes();
                json!(String::from_utf8(bytes.to_vec()).unwrap())
            }
            ["set-memory", function, memory] => {
                self.lambda
                    .update_function_configuration()
                    .function_name(*function)
                    .memory_size(memory.parse().unwrap())
                    .send()
                    .await
                    .unwrap();
                Value::Null
            }
            other => panic!("unknown probe {other:?}"),
        }
    }

    /// Name → what a test asserts about the function: its configuration, tags,
    /// concurrency, published versions and `live` alias with the code each runs, and the
    /// alias's policy.
    /// The `live` alias of `function`: its version and routing weights (none: `{}`).
    async fn alias(&self, function: &str) -> Value {
        let alias = self
            .lambda
            .get_alias()
            .function_name(function)
            .name("live")
            .send()
            .await
            .unwrap();
        let weights: serde_json::Map<String, Value> = alias
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|w| {
                w.iter()
                    .map(|(k, v)| (k.clone(), Value::from(*v)))
                    .collect()
            })
            .unwrap_or_default();
        serde_json::json!({"version": alias.function_version(), "weights": weights})
    }

    /// Creates the metric alarm `name` when missing and puts it in `state`.
    async fn alarm(&self, name: &str, state: &str) {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .metric_name("Errors")
            .namespace("AWS/Lambda")
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .send()
            .await
            .unwrap();
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::from(state))
            .state_reason(format!("set to {state} by the test"))
            .send()
            .await
            .unwrap();
    }

    async fn functions(&self, prefix: &str) -> Value {
        let mut found = serde_json::Map::new();
        let mut pages = self.lambda.list_functions().into_paginator().send();
        while let Some(page) = pages.next().await {
            for f in page.unwrap().functions() {
                let name = f.function_name().unwrap_or_default();
                if name.starts_with(prefix) {
                    found.insert(name.to_owned(), self.function(f).await);
                }
            }
        }
        Value::Object(found)
    }

    async fn function(&self, f: &aws_sdk_lambda::types::FunctionConfiguration) -> Value {
        let name = f.function_name().unwrap_or_default();
        let mut versions = serde_json::Map::new();
        let mut pages = self
            .lambda
            .list_versions_by_function()
            .function_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for v in page.unwrap().versions() {
                versions.insert(
                    v.version().unwrap_or_default().to_owned(),
                    json!(v.code_sha256()),
                );
            }
        }
        let listed = self
            .lambda
            .list_aliases()
            .function_name(name)
            .send()
            .await
            .unwrap();
        let aliases: BTreeMap<&str, &str> = listed
            .aliases()
            .iter()
            .map(|a| {
                (
                    a.name().unwrap_or_default(),
                    a.function_version().unwrap_or_default(),
                )
            })
            .collect();
        let live = aliases.get("live").copied();
        let concurrency = self
            .lambda
            .get_function_concurrency()
            .function_name(name)
            .send()
            .await
            .unwrap()
            .reserved_concurrent_executions();
        let arn = f.function_arn().unwrap_or_default();
        let tags = self
            .lambda
            .list_tags()
            .resource(arn)
            .send()
            .await
            .unwrap()
            .tags()
            .cloned()
            .unwrap_or_default();
        let vpc = f.vpc_config();
        let sorted = |ids: &[String]| {
            let mut ids = ids.to_vec();
            ids.sort();
            ids
        };
        json!({
            "code_sha256": f.code_sha256(),
            "last_modified": f.last_modified(),
            "environment": f.environment().and_then(|e| e.variables()).cloned().unwrap_or_default(),
            "memory_size": f.memory_size(),
            "timeout": f.timeout(),
            "runtime": f.runtime().map(|r| r.as_str()),
            "handler": f.handler(),
            "role": f.role(),
            "description": f.description().unwrap_or_default(),
            "architectures": f.architectures().iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            "layers": f.layers().iter().filter_map(|l| l.arn()).collect::<Vec<_>>(),
            "ephemeral_storage": f.ephemeral_storage().map(|e| e.size()),
            "tracing": f.tracing_config().and_then(|t| t.mode()).map(|m| m.as_str()),
            "subnet_ids": vpc.map(|v| sorted(v.subnet_ids())).unwrap_or_default(),
            "security_group_ids": vpc.map(|v| sorted(v.security_group_ids())).unwrap_or_default(),
            "reserved_concurrency": concurrency,
            "tags": tags.into_iter().collect::<BTreeMap<_, _>>(),
            "arn": arn,
            "versions": versions,
            "aliases": aliases,
            "live": live,
            "live_code_sha256": live.and_then(|v| versions.get(v)).cloned(),
            "live_policy": match live {
                Some(_) => self.policy(name, Some("live")).await,
                None => json!({}),
            },
        })
    }

    /// Sid → {resource, source_arn, source_account} of a function's (or alias's) policy.
    async fn policy(&self, function: &str, qualifier: Option<&str>) -> Value {
        let got = self
            .lambda
            .get_policy()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_owned))
            .send()
            .await;
        let document: Value = match got {
            Ok(got) => serde_json::from_str(got.policy().unwrap_or("{}")).unwrap(),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return json!({})
            }
            Err(error) => panic!("get_policy {function}: {error:?}"),
        };
        let mut out = serde_json::Map::new();
        for statement in document["Statement"].as_array().into_iter().flatten() {
            let condition = &statement["Condition"];
            out.insert(
                statement["Sid"].as_str().unwrap_or_default().to_owned(),
                json!({
                    "resource": statement.get("Resource"),
                    "source_arn": condition["ArnLike"].get("AWS:SourceArn"),
                    "source_account": condition["StringEquals"].get("AWS:SourceAccount"),
                }),
            );
        }
        Value::Object(out)
    }

    /// Prefix → `<function>` or `<function>:<qualifier>`, from the target's ARN.
    async fn notifications(&self, bucket: &str) -> Value {
        let config = match self
            .s3
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(config) => config,
            // Once the configuration is deleted, the emulator answers with an empty element
            // the SDK does not take for one: no notification at all.
            Err(error) if format!("{error:?}").contains("GetBucketNotificationResponse") => {
                return json!({});
            }
            Err(error) => panic!("get_bucket_notification_configuration {bucket}: {error:?}"),
        };
        let mut out = serde_json::Map::new();
        for c in config.lambda_function_configurations() {
            let prefix = c
                .filter()
                .and_then(|f| f.key())
                .map(|k| k.filter_rules())
                .unwrap_or_default()
                .iter()
                .find(|r| {
                    r.name()
                        .is_some_and(|n| n.as_str().eq_ignore_ascii_case("prefix"))
                })
                .and_then(|r| r.value())
                .unwrap_or_default();
            let arn = c.lambda_function_arn();
            let target = arn.split_once(":function:").map_or(arn, |(_, rest)| rest);
            out.insert(prefix.to_owned(), json!(target));
        }
        Value::Object(out)
    }

    /// Name → {retention, tags} of the log groups under `prefix`.
    async fn log_groups(&self, prefix: &str) -> Value {
        let mut out = serde_json::Map::new();
        let mut pages = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for group in page.unwrap().log_groups() {
                let arn = group.arn().unwrap_or_default();
                let arn = arn.trim_end_matches('*').trim_end_matches(':');
                let tags = self
                    .logs
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
                    .await
                    .unwrap()
                    .tags()
                    .cloned()
                    .unwrap_or_default();
                out.insert(
                    group.log_group_name().unwrap_or_default().to_owned(),
                    json!({
                        "retention": group.retention_in_days(),
                        "tags": tags.into_iter().collect::<BTreeMap<_, _>>(),
                    }),
                );
            }
        }
        Value::Object(out)
    }

    /// Role name → {inline policy name → its document}.
    async fn roles(&self, prefix: &str) -> Value {
        let mut out = serde_json::Map::new();
        let mut pages = self.iam.list_roles().into_paginator().send();
        while let Some(page) = pages.next().await {
            for role in page.unwrap().roles() {
                let name = role.role_name();
                if !name.starts_with(prefix) {
                    continue;
                }
                let listed = self
                    .iam
                    .list_role_policies()
                    .role_name(name)
                    .send()
                    .await
                    .unwrap();
                let mut policies = serde_json::Map::new();
                for policy in listed.policy_names() {
                    let got = self
                        .iam
                        .get_role_policy()
                        .role_name(name)
                        .policy_name(policy)
                        .send()
                        .await
                        .unwrap();
                    policies.insert(policy.clone(), policy_document(got.policy_document()));
                }
                out.insert(name.to_owned(), Value::Object(policies));
            }
        }
        Value::Object(out)
    }
}

/// An IAM policy document as JSON: IAM sends it percent-encoded.
fn policy_document(text: &str) -> Value {
    if let Ok(value) = serde_json::from_str(text) {
        return value;
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                decoded.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                decoded.push(b' ');
                i += 1;
            }
            byte => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    serde_json::from_slice(&decoded).unwrap()
}

/// A zip holding one file.
fn zip_of(name: &str, text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.write_all(text.as_bytes()).unwrap();
    writer.finish().unwrap().into_inner()
}

/// `provider_installation` from `$TF_PLUGIN_MIRROR`, else the first provider mirror in the
/// directories terraform searches by itself, else the registry.
fn cli_config() -> String {
    match plugin_mirror() {
        Some(path) => format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n",
            path.display()
        ),
        None => String::new(),
    }
}

/// `$TF_PLUGIN_MIRROR`, else the implied local mirror directories terraform searches on
/// Linux — `~/.terraform.d/plugins`, `$XDG_DATA_HOME/terraform/plugins` (else
/// `~/.local/share/…`), then `<each of $XDG_DATA_DIRS>/terraform/plugins` (else
/// `/usr/local/share/…` and `/usr/share/…`) — and this machine's `/opt/tf-plugins`: the
/// first that holds `registry.terraform.io`. Never a search of the whole filesystem.
pub fn plugin_mirror() -> Option<PathBuf> {
    if let Some(mirror) = std::env::var_os("TF_PLUGIN_MIRROR").filter(|m| !m.is_empty()) {
        return Some(PathBuf::from(mirror));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".local/share")));
    let data_dirs = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    let mut candidates: Vec<PathBuf> = Vec::new();
    candidates.extend(home.map(|h| h.join(".terraform.d/plugins")));
    candidates.extend(data_home.map(|d| d.join("terraform/plugins")));
    candidates.extend(
        data_dirs
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join("terraform/plugins")),
    );
    candidates.push(PathBuf::from("/opt/tf-plugins"));
    candidates
        .into_iter()
        .find(|dir| dir.join("registry.terraform.io").is_dir())
}

/// The AWS environment of a run around a fake terraform: credentials that need no lookup,
/// no instance metadata, every API on a closed port on loopback (lambda-gitops's own Lambda
/// calls fail as an unreachable endpoint would) but S3, which is the emulator's — where
/// the buckets `tree`'s services name exist in `region`, as the checks before terraform
/// starts require. Nothing leaves the machine.
pub fn around_fake_terraform(tree: &super::Tree, region: &str) -> Vec<(String, String)> {
    let aws = emulator();
    aws.ensure_buckets(region, &tree.buckets());
    [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_S3", aws.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}
