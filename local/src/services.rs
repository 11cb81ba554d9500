//! Local AWS services: DynamoDB Local (AWS's own emulator, on Java) and moto (S3, SNS, SQS, SSM),
//! started on free ports, or external endpoints (LocalStack, AWS) taken from the standard
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables.
//!
//! The tools are installed by `scripts/install-tools.sh` into `.local/tools` (idempotent).

use crate::log::LogSink;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The services a stack's functions and provisioning use.
pub const SERVICES: [&str; 7] = ["DYNAMODB", "DYNAMODB_STREAMS", "S3", "SNS", "SQS", "SSM", "SESV2"];

/// Where AWS calls go: per-service endpoints (None = the SDK default, i.e. AWS itself).
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    pub region: String,
    pub endpoints: BTreeMap<String, String>,
    /// Use fixed dummy credentials (emulators accept anything).
    pub dummy_credentials: bool,
}

impl AwsTarget {
    /// From this process's environment: `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`.
    pub fn from_env() -> AwsTarget {
        let region = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).unwrap_or_else(|_| "us-east-1".into());
        let global = std::env::var("AWS_ENDPOINT_URL").ok().filter(|s| !s.is_empty());
        let mut endpoints = BTreeMap::new();
        for svc in SERVICES {
            if let Some(ep) = std::env::var(format!("AWS_ENDPOINT_URL_{svc}")).ok().filter(|s| !s.is_empty()).or_else(|| global.clone()) {
                endpoints.insert(svc.to_string(), ep);
            }
        }
        let dummy_credentials = !endpoints.is_empty() && std::env::var_os("AWS_ACCESS_KEY_ID").is_none();
        AwsTarget { region, endpoints, dummy_credentials }
    }

    pub fn endpoint(&self, service: &str) -> Option<&str> {
        self.endpoints.get(service).map(String::as_str)
    }

    /// The environment a function instance gets so its SDK clients reach the same services.
    pub fn function_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for (svc, ep) in &self.endpoints {
            env.insert(format!("AWS_ENDPOINT_URL_{svc}"), ep.clone());
        }
        if self.dummy_credentials {
            env.insert("AWS_ACCESS_KEY_ID".into(), "test".into());
            env.insert("AWS_SECRET_ACCESS_KEY".into(), "test".into());
        } else {
            for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "HOME"] {
                if let Ok(v) = std::env::var(k) {
                    env.insert(k.into(), v);
                }
            }
        }
        env
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new(self.region.clone()));
        if self.dummy_credentials {
            loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "chat-dev"));
        }
        loader.load().await
    }
}

/// A child process that is killed when this value is dropped, and when this process dies.
pub struct ServiceProcess {
    pub name: String,
    pub endpoint: String,
    child: tokio::process::Child,
}

impl ServiceProcess {
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

fn missing(what: &str, path: &Path) -> String {
    format!("{what} is not installed ({} missing): run scripts/install-tools.sh (make dev does)", path.display())
}

async fn spawn_service(name: &str, mut cmd: tokio::process::Command, port: u16, log: &LogSink) -> Result<ServiceProcess, String> {
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).kill_on_drop(true);
    crate::util::die_with_parent(&mut cmd, true);
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
    for out in [
        child.stdout.take().map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        child.stderr.take().map(|e| Box::new(e) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let log = log.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                log.function(&name, crate::log::Stream::Stdout, &line);
            }
        });
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited during start-up ({status}); see its output above"));
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.start_kill();
            return Err(format!("{name} did not listen on port {port} within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    log.gateway(&format!("{name} up at {endpoint} in {:.1}s", started.elapsed().as_secs_f64()));
    Ok(ServiceProcess { name: name.to_string(), endpoint, child })
}

/// Starts DynamoDB Local, in memory, on a free port.
pub async fn start_dynamodb_local(tools: &Path, log: &LogSink) -> Result<ServiceProcess, String> {
    let dir = tools.join("dynamodb");
    let jar = dir.join("DynamoDBLocal.jar");
    if !jar.exists() {
        return Err(missing("DynamoDB Local", &jar));
    }
    let dir = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    let jar = dir.join("DynamoDBLocal.jar");
    let port = crate::util::free_port();
    let mut cmd = tokio::process::Command::new(std::env::var("JAVA").unwrap_or_else(|_| "java".into()));
    cmd.current_dir(&dir)
        .arg("-Xms64m")
        .arg("-Xmx512m")
        .arg("-XX:+UseSerialGC")
        .arg(format!("-Djava.library.path={}", dir.join("DynamoDBLocal_lib").display()))
        .arg("-jar")
        .arg(&jar)
        .arg("-inMemory")
        .arg("-sharedDb")
        .arg("-port")
        .arg(port.to_string());
    spawn_service("dynamodb-local", cmd, port, log).await
}

/// Starts moto's server (S3, SNS, SQS, SSM) on a free port.
pub async fn start_moto(tools: &Path, log: &LogSink) -> Result<ServiceProcess, String> {
    let bin = tools.join("venv").join("bin").join("moto_server");
    if !bin.exists() {
        return Err(missing("moto", &bin));
    }
    let port = crate::util::free_port();
    let mut cmd = tokio::process::Command::new(&bin);
    // The account of the template's local ARNs (topics are addressed by ARN).
    cmd.arg("-H")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(port.to_string())
        .env("MOTO_ACCOUNT_ID", crate::template::LocalContext::default().account_id);
    spawn_service("moto", cmd, port, log).await
}

/// The embedded default: DynamoDB Local for DynamoDB, moto for the rest.
pub struct EmbeddedServices {
    pub dynamodb: ServiceProcess,
    pub moto: ServiceProcess,
}

impl EmbeddedServices {
    pub async fn start(tools: &Path, log: &LogSink) -> Result<EmbeddedServices, String> {
        let (dynamodb, moto) = tokio::join!(start_dynamodb_local(tools, log), start_moto(tools, log));
        Ok(EmbeddedServices { dynamodb: dynamodb?, moto: moto? })
    }

    pub fn target(&self, region: &str) -> AwsTarget {
        let mut endpoints = BTreeMap::new();
        endpoints.insert("DYNAMODB".to_string(), self.dynamodb.endpoint.clone());
        endpoints.insert("DYNAMODB_STREAMS".to_string(), self.dynamodb.endpoint.clone());
        for svc in ["S3", "SNS", "SQS", "SSM", "SESV2"] {
            endpoints.insert(svc.to_string(), self.moto.endpoint.clone());
        }
        AwsTarget { region: region.into(), endpoints, dummy_credentials: true }
    }

    pub async fn stop(self) {
        tokio::join!(self.dynamodb.stop(), self.moto.stop());
    }
}
