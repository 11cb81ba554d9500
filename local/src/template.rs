//! Reads `infra/template.yaml` (AWS SAM) and derives what the local stack needs from it:
//! the WebSocket routes and the function behind each, every function's binary, environment,
//! memory and timeout, and the tables, buckets, topics and SSM parameters to create.
//!
//! CloudFormation short tags (`!Ref`, `!GetAtt`, `!Sub`, `!Join`, ...) are turned into their long
//! JSON form and evaluated by [`Resolver`], which gives every resource a local physical name.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug)]
pub enum TemplateError {
    Io(String),
    Yaml(String),
    Invalid(String),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Io(m) => write!(f, "cannot read template: {m}"),
            TemplateError::Yaml(m) => write!(f, "template is not valid YAML: {m}"),
            TemplateError::Invalid(m) => write!(f, "template: {m}"),
        }
    }
}

impl std::error::Error for TemplateError {}

type Result<T> = std::result::Result<T, TemplateError>;

fn invalid(msg: impl Into<String>) -> TemplateError {
    TemplateError::Invalid(msg.into())
}

/// A parsed template: parameters (with overrides applied), globals and resources, all with
/// intrinsic functions in their long form (`{"Ref": ..}`, `{"Fn::Sub": ..}`).
#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, String>,
    pub globals: Value,
    pub resources: BTreeMap<String, Value>,
}

/// Naming context for the local stack.
#[derive(Debug, Clone)]
pub struct LocalContext {
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    /// Parameter values that override the template's defaults (e.g. `StageName=local`).
    pub parameter_overrides: BTreeMap<String, String>,
}

impl Default for LocalContext {
    fn default() -> Self {
        LocalContext {
            stack_name: "chat-local".into(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            parameter_overrides: BTreeMap::new(),
        }
    }
}

impl Template {
    pub fn load(path: &Path, ctx: &LocalContext) -> Result<Template> {
        let text = std::fs::read_to_string(path).map_err(|e| TemplateError::Io(format!("{}: {e}", path.display())))?;
        Template::parse(&text, ctx)
    }

    pub fn parse(text: &str, ctx: &LocalContext) -> Result<Template> {
        let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| TemplateError::Yaml(e.to_string()))?;
        let doc = yaml_to_json(yaml)?;
        let mut parameters = BTreeMap::new();
        if let Some(params) = doc.get("Parameters").and_then(Value::as_object) {
            for (name, spec) in params {
                let default = spec.get("Default").map(scalar_string).unwrap_or_default();
                parameters.insert(name.clone(), default);
            }
        }
        for (k, v) in &ctx.parameter_overrides {
            if !parameters.contains_key(k) {
                return Err(invalid(format!("parameter override {k} is not a template parameter")));
            }
            parameters.insert(k.clone(), v.clone());
        }
        let resources: BTreeMap<String, Value> = doc
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("no Resources section"))?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let globals = doc.get("Globals").cloned().unwrap_or(Value::Null);
        Ok(Template { parameters, globals, resources })
    }

    pub fn resources_of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
        self.resources.iter().filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
    }

    fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.resources.get(logical_id)?.get("Type")?.as_str()
    }
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// YAML (with CloudFormation tags) to JSON with intrinsics in long form.
/// The template as CloudFormation's JSON (short-form tags such as `!Ref` as their long form),
/// nothing resolved.
pub fn template_json(text: &str) -> Result<Value> {
    yaml_to_json(serde_norway::from_str(text).map_err(|e| TemplateError::Yaml(e.to_string()))?)
}

fn yaml_to_json(v: serde_norway::Value) -> Result<Value> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(f) = n.as_f64() {
                json!(f)
            } else {
                Value::String(n.to_string())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect::<Result<_>>()?),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(invalid(format!("unsupported mapping key {other:?}"))),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let inner = yaml_to_json(tagged.value)?;
            match tag {
                "Ref" => json!({ "Ref": inner }),
                "GetAtt" => {
                    // `!GetAtt A.B` or `!GetAtt [A, B]`
                    let parts = match inner {
                        Value::String(s) => {
                            let (a, b) = s.split_once('.').ok_or_else(|| invalid(format!("!GetAtt {s}: expected Resource.Attribute")))?;
                            json!([a, b])
                        }
                        other => other,
                    };
                    json!({ "Fn::GetAtt": parts })
                }
                "Condition" => json!({ "Condition": inner }),
                other => json!({ format!("Fn::{other}"): inner }),
            }
        }
    })
}

/// Evaluates intrinsic functions with local physical names:
/// tables `<stack>-<LogicalId>`, buckets the same in lower case, topics an ARN in the local
/// account, functions their logical id, the WebSocket API the id `local`.
pub struct Resolver<'a> {
    pub template: &'a Template,
    pub ctx: &'a LocalContext,
}

impl<'a> Resolver<'a> {
    pub fn new(template: &'a Template, ctx: &'a LocalContext) -> Self {
        Resolver { template, ctx }
    }

    pub fn physical_name(&self, logical_id: &str) -> Result<String> {
        let ty = self
            .template
            .resource_type(logical_id)
            .ok_or_else(|| invalid(format!("!Ref to unknown resource or parameter {logical_id}")))?;
        let base = format!("{}-{}", self.ctx.stack_name, logical_id);
        Ok(match ty {
            "AWS::S3::Bucket" => base.to_ascii_lowercase(),
            "AWS::SNS::Topic" => format!("arn:aws:sns:{}:{}:{}", self.ctx.region, self.ctx.account_id, base),
            "AWS::SQS::Queue" => format!("http://sqs.{}.localhost/{}/{}", self.ctx.region, self.ctx.account_id, base),
            "AWS::ApiGatewayV2::Api" => "local".into(),
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => logical_id.to_string(),
            "AWS::ApiGatewayV2::Integration" | "AWS::ApiGatewayV2::Route" | "AWS::ApiGatewayV2::Stage" => logical_id.to_string(),
            _ => base,
        })
    }

    fn ref_value(&self, name: &str) -> Result<String> {
        match name {
            "AWS::Region" => return Ok(self.ctx.region.clone()),
            "AWS::AccountId" => return Ok(self.ctx.account_id.clone()),
            "AWS::StackName" => return Ok(self.ctx.stack_name.clone()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            "AWS::NoValue" => return Ok(String::new()),
            _ => {}
        }
        if let Some(p) = self.template.parameters.get(name) {
            return Ok(p.clone());
        }
        self.physical_name(name)
    }

    fn get_att(&self, logical_id: &str, attr: &str) -> Result<String> {
        let name = self.physical_name(logical_id)?;
        let ty = self.template.resource_type(logical_id).unwrap_or_default();
        let (region, account) = (&self.ctx.region, &self.ctx.account_id);
        Ok(match (ty, attr) {
            ("AWS::DynamoDB::Table", "Arn") => format!("arn:aws:dynamodb:{region}:{account}:table/{name}"),
            ("AWS::DynamoDB::Table", "StreamArn") => format!("arn:aws:dynamodb:{region}:{account}:table/{name}/stream/local"),
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{name}"),
            ("AWS::S3::Bucket", "DomainName") => format!("{name}.s3.amazonaws.com"),
            ("AWS::SNS::Topic", "TopicArn") => name,
            ("AWS::SNS::Topic", "TopicName") => name.rsplit(':').next().unwrap_or_default().to_string(),
            ("AWS::SQS::Queue", "Arn") => format!("arn:aws:sqs:{region}:{account}:{}", name.rsplit('/').next().unwrap_or_default()),
            ("AWS::SQS::Queue", "QueueName") => name.rsplit('/').next().unwrap_or_default().to_string(),
            ("AWS::Serverless::Function" | "AWS::Lambda::Function", "Arn") => {
                format!("arn:aws:lambda:{region}:{account}:function:{name}")
            }
            ("AWS::ApiGatewayV2::Api", "ApiEndpoint") => format!("wss://{name}.execute-api.{region}.amazonaws.com"),
            ("AWS::ApiGatewayV2::Api", "ApiId") => name,
            _ => format!("{name}.{attr}"),
        })
    }

    /// Evaluates a value to a string (environment variables, names, targets).
    pub fn string(&self, v: &Value) -> Result<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Null => Ok(String::new()),
            Value::Object(o) if o.len() == 1 => {
                let (k, arg) = o.iter().next().unwrap();
                match k.as_str() {
                    "Ref" => self.ref_value(arg.as_str().ok_or_else(|| invalid("Ref takes a name"))?),
                    "Fn::GetAtt" => {
                        let parts = arg.as_array().ok_or_else(|| invalid("GetAtt takes [Resource, Attribute]"))?;
                        let r = parts.first().and_then(Value::as_str).unwrap_or_default();
                        let a = parts.get(1).and_then(Value::as_str).unwrap_or_default();
                        self.get_att(r, a)
                    }
                    "Fn::Sub" => self.sub(arg),
                    "Fn::Join" => {
                        let parts = arg.as_array().ok_or_else(|| invalid("Join takes [delimiter, [values]]"))?;
                        let delim = parts.first().and_then(Value::as_str).unwrap_or_default();
                        let items = parts.get(1).and_then(Value::as_array).ok_or_else(|| invalid("Join takes a list"))?;
                        Ok(items.iter().map(|i| self.string(i)).collect::<Result<Vec<_>>>()?.join(delim))
                    }
                    "Fn::Select" => {
                        let parts = arg.as_array().ok_or_else(|| invalid("Select takes [index, list]"))?;
                        let idx: usize = self.string(&parts[0])?.parse().map_err(|_| invalid("Select index"))?;
                        let list = parts.get(1).and_then(Value::as_array).ok_or_else(|| invalid("Select takes a list"))?;
                        self.string(list.get(idx).ok_or_else(|| invalid("Select index out of range"))?)
                    }
                    other => Err(invalid(format!("intrinsic {other} is not supported by the local stack"))),
                }
            }
            other => Err(invalid(format!("expected a string value, found {other}"))),
        }
    }

    /// Evaluates a value to a list of strings (`[..]`, `!Split`, or one string).
    pub fn list(&self, v: &Value) -> Result<Vec<String>> {
        match v {
            Value::Array(a) => a.iter().map(|i| self.string(i)).collect(),
            Value::Object(o) if o.len() == 1 && o.contains_key("Fn::Split") => {
                let parts = o["Fn::Split"].as_array().ok_or_else(|| invalid("Split takes [delimiter, string]"))?;
                let delim = parts.first().and_then(Value::as_str).unwrap_or(",");
                let text = self.string(parts.get(1).ok_or_else(|| invalid("Split takes [delimiter, string]"))?)?;
                Ok(text.split(delim).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            }
            other => Ok(vec![self.string(other)?]),
        }
    }

    fn cors(&self, c: &Value) -> Result<CorsSpec> {
        let list = |k: &str| -> Result<Vec<String>> { c.get(k).map(|v| self.list(v)).transpose().map(Option::unwrap_or_default) };
        Ok(CorsSpec {
            allow_origins: list("AllowOrigins")?,
            allow_methods: list("AllowMethods")?,
            allow_headers: list("AllowHeaders")?,
            expose_headers: list("ExposeHeaders")?,
            max_age: c.get("MaxAge").map(|v| self.string(v)).transpose()?.and_then(|v| v.parse().ok()),
            allow_credentials: c.get("AllowCredentials").map(|v| self.string(v)).transpose()?.is_some_and(|v| v == "true"),
        })
    }

    fn sub(&self, arg: &Value) -> Result<String> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), Map::new()),
            Value::Array(a) => (
                a.first().and_then(Value::as_str).ok_or_else(|| invalid("Sub takes a string"))?,
                a.get(1).and_then(Value::as_object).cloned().unwrap_or_default(),
            ),
            _ => return Err(invalid("Sub takes a string or [string, map]")),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| invalid(format!("unclosed ${{ in Sub: {text}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(&self.string(v)?);
            } else if let Some((r, a)) = name.split_once('.').filter(|_| !name.starts_with("AWS::")) {
                out.push_str(&self.get_att(r, a)?);
            } else {
                out.push_str(&self.ref_value(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A Lambda function as the local stack runs it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// Cargo binary name (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub memory_mb: u32,
    pub timeout_secs: u32,
    pub environment: BTreeMap<String, String>,
    /// The SQS queue (its name) that gets an asynchronous invocation's event after Lambda's
    /// retries (`DeadLetterQueue: {Type: SQS, TargetArn}`).
    pub dead_letter_queue: Option<String>,
}

/// The WebSocket API: route selection and route key -> function logical id.
#[derive(Debug, Clone)]
pub struct WebSocketApiSpec {
    pub logical_id: String,
    pub route_selection_expression: String,
    pub routes: BTreeMap<String, String>,
    /// The stage's `DefaultRouteSettings` throttling (burst, rate per second): each route gets
    /// these limits of its own unless `route_throttle` names it.
    pub throttle: Option<(u32, f64)>,
    /// `RouteSettings` throttling of single routes.
    pub route_throttle: BTreeMap<String, (u32, f64)>,
}

/// The HTTP API (payload format 2.0): route key (`GET /chats/{id}`) -> function logical id.
#[derive(Debug, Clone)]
pub struct HttpApiSpec {
    pub logical_id: String,
    pub routes: BTreeMap<String, String>,
    pub payload_format_version: String,
    /// Integration timeout (HTTP APIs: at most 30 s).
    pub timeout_ms: u64,
    pub cors: Option<CorsSpec>,
    /// The stage's `DefaultRouteSettings`: (burst, rate per second).
    pub throttle: Option<(u32, f64)>,
}

/// An HTTP API's `CorsConfiguration`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorsSpec {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub allow_credentials: bool,
}

/// An SNS topic a function is subscribed to (a SAM `Events: {Type: SNS}` source).
#[derive(Debug, Clone)]
pub struct SnsSourceSpec {
    pub function: String,
    pub topic_logical_id: String,
    pub topic_arn: String,
}

/// A function run on a schedule (a SAM `Events: {Type: Schedule}` source): `rate(N unit)`.
#[derive(Debug, Clone)]
pub struct ScheduleSourceSpec {
    pub function: String,
    /// The source's logical name (`<Function><Event>` is its rule's name on AWS).
    pub name: String,
    pub expression: String,
    /// The period in seconds (EventBridge's units; the local platform also takes `second(s)`,
    /// for tests).
    pub period_secs: u64,
}

/// A DynamoDB stream feeding a function (a SAM `Events: {Type: DynamoDB}` source).
#[derive(Debug, Clone)]
pub struct StreamSourceSpec {
    pub function: String,
    pub table_logical_id: String,
    pub table_name: String,
    pub batch_size: u32,
    /// `TRIM_HORIZON` or `LATEST`.
    pub starting_position: String,
    /// `-1`: retry until it succeeds.
    pub maximum_retry_attempts: i64,
    pub bisect_on_error: bool,
    pub batching_window_secs: u64,
    /// The SQS queue (its name) that gets where a batch failed for good
    /// (`DestinationConfig.OnFailure.Destination`).
    pub on_failure_queue: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub logical_id: String,
    pub name: String,
    /// The `Properties` of the table, as in the template (keys, attribute definitions, indexes, TTL).
    pub properties: Value,
}

impl TableSpec {
    pub fn key_schema(&self) -> Vec<(String, String)> {
        key_schema(self.properties.get("KeySchema"))
    }
    pub fn attribute_type(&self, name: &str) -> Option<String> {
        self.properties
            .get("AttributeDefinitions")?
            .as_array()?
            .iter()
            .find(|d| d.get("AttributeName").and_then(Value::as_str) == Some(name))?
            .get("AttributeType")?
            .as_str()
            .map(str::to_string)
    }
    /// Global secondary indexes: (name, key schema, projection type, non-key attributes).
    pub fn global_indexes(&self) -> Vec<IndexSpec> {
        self.properties
            .get("GlobalSecondaryIndexes")
            .and_then(Value::as_array)
            .map(|gs| {
                gs.iter()
                    .map(|g| IndexSpec {
                        name: g.get("IndexName").and_then(Value::as_str).unwrap_or_default().to_string(),
                        key_schema: key_schema(g.get("KeySchema")),
                        projection_type: g.pointer("/Projection/ProjectionType").and_then(Value::as_str).unwrap_or("ALL").to_string(),
                        non_key_attributes: g
                            .pointer("/Projection/NonKeyAttributes")
                            .and_then(Value::as_array)
                            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    /// `StreamSpecification.StreamViewType`, when the table has a stream.
    pub fn stream_view_type(&self) -> Option<String> {
        self.properties.pointer("/StreamSpecification/StreamViewType").and_then(Value::as_str).map(str::to_string)
    }
    pub fn ttl_attribute(&self) -> Option<String> {
        let spec = self.properties.get("TimeToLiveSpecification")?;
        if spec.get("Enabled").and_then(Value::as_bool) == Some(false) {
            return None;
        }
        spec.get("AttributeName").and_then(Value::as_str).map(str::to_string)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<(String, String)>,
    pub projection_type: String,
    pub non_key_attributes: Vec<String>,
}

fn key_schema(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .map(|ks| {
            ks.iter()
                .map(|k| {
                    (
                        k.get("AttributeName").and_then(Value::as_str).unwrap_or_default().to_string(),
                        k.get("KeyType").and_then(Value::as_str).unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Everything the local stack derives from the template.
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub websocket: WebSocketApiSpec,
    pub stage_name: String,
    pub http_api: Option<HttpApiSpec>,
    pub stream_sources: Vec<StreamSourceSpec>,
    pub sns_sources: Vec<SnsSourceSpec>,
    pub schedule_sources: Vec<ScheduleSourceSpec>,
    pub functions: BTreeMap<String, FunctionSpec>,
    pub tables: Vec<TableSpec>,
    pub buckets: Vec<String>,
    pub topics: Vec<String>,
    /// SQS queue names.
    pub queues: Vec<String>,
    /// SSM parameter names the functions read (from `*_PARAM` environment variables).
    pub ssm_parameters: Vec<String>,
    /// The environment variable naming each of them (`JWT_SECRET_PARAM`, `VAPID_PARAM`): what
    /// the value is for.
    pub ssm_parameter_vars: BTreeMap<String, String>,
}

/// The name of the queue an ARN names (`!GetAtt <Queue>.Arn`).
fn queue_of(r: &Resolver, arn: &Value) -> Result<String> {
    let arn = r.string(arn)?;
    match arn.strip_prefix("arn:aws:sqs:").and_then(|a| a.rsplit(':').next()) {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(invalid(format!("{arn} is not an SQS queue's ARN"))),
    }
}

impl StackSpec {
    pub fn from_template(t: &Template, ctx: &LocalContext) -> Result<StackSpec> {
        let r = Resolver::new(t, ctx);
        let (api_id, api) = t
            .resources_of_type("AWS::ApiGatewayV2::Api")
            .find(|(_, a)| a.pointer("/Properties/ProtocolType").and_then(Value::as_str) == Some("WEBSOCKET"))
            .ok_or_else(|| invalid("no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET"))?;
        let selection = api
            .pointer("/Properties/RouteSelectionExpression")
            .map(|v| r.string(v))
            .transpose()?
            .ok_or_else(|| invalid("WebSocket API has no RouteSelectionExpression"))?;

        // Integrations -> function logical id, parsed out of the Lambda ARN in IntegrationUri.
        let mut integrations = BTreeMap::new();
        for (id, integ) in t.resources_of_type("AWS::ApiGatewayV2::Integration") {
            let uri = integ.pointer("/Properties/IntegrationUri").ok_or_else(|| invalid(format!("{id}: no IntegrationUri")))?;
            let uri = r.string(uri)?;
            let function = uri
                .split(":function:")
                .nth(1)
                .and_then(|s| s.split('/').next())
                .ok_or_else(|| invalid(format!("{id}: IntegrationUri is not a Lambda function: {uri}")))?;
            integrations.insert(id.clone(), function.to_string());
        }
        // Routes of each API: ApiId is a `Ref` to the API's logical id.
        let api_of =
            |props: &Value| -> Option<String> { props.pointer("/Properties/ApiId/Ref").and_then(Value::as_str).map(str::to_string) };
        let mut all_routes: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (id, route) in t.resources_of_type("AWS::ApiGatewayV2::Route") {
            let key = r.string(route.pointer("/Properties/RouteKey").ok_or_else(|| invalid(format!("{id}: no RouteKey")))?)?;
            let Some(target) = route.pointer("/Properties/Target") else {
                continue; // a route without integration: AWS answers it with Forbidden
            };
            let target = r.string(target)?;
            let integ = target.strip_prefix("integrations/").ok_or_else(|| invalid(format!("{id}: Target {target}")))?;
            let function = integrations.get(integ).ok_or_else(|| invalid(format!("{id}: unknown integration {integ}")))?;
            let api = api_of(route).ok_or_else(|| invalid(format!("{id}: ApiId must be a !Ref to the API")))?;
            if all_routes.entry(api).or_default().insert(key.clone(), function.clone()).is_some() {
                return Err(invalid(format!("route {key} is defined twice")));
            }
        }
        let routes = all_routes.remove(api_id).unwrap_or_default();
        let ws_stage = t
            .resources_of_type("AWS::ApiGatewayV2::Stage")
            .find(|(_, st)| api_of(st).as_deref() == Some(api_id.as_str()))
            .map(|(_, s)| s.clone());
        let stage_name = ws_stage
            .as_ref()
            .and_then(|s| s.pointer("/Properties/StageName"))
            .map(|v| r.string(v))
            .transpose()?
            .unwrap_or_else(|| "local".into());
        let throttle_of = |settings: &Value| -> Result<Option<(u32, f64)>> {
            let burst = settings.get("ThrottlingBurstLimit").map(|v| r.string(v)).transpose()?.and_then(|v| v.parse().ok());
            let rate = settings.get("ThrottlingRateLimit").map(|v| r.string(v)).transpose()?.and_then(|v| v.parse().ok());
            Ok(burst.zip(rate))
        };
        let ws_throttle = match ws_stage.as_ref().and_then(|s| s.pointer("/Properties/DefaultRouteSettings")) {
            Some(d) => throttle_of(d)?,
            None => None,
        };
        let mut route_throttle = BTreeMap::new();
        if let Some(rs) = ws_stage.as_ref().and_then(|s| s.pointer("/Properties/RouteSettings")).and_then(Value::as_object) {
            for (route, settings) in rs {
                if let Some(t) = throttle_of(settings)? {
                    route_throttle.insert(route.clone(), t);
                }
            }
        }

        let globals = t.globals.get("Function").cloned().unwrap_or(Value::Null);
        let mut functions = BTreeMap::new();
        for (id, f) in t.resources_of_type("AWS::Serverless::Function") {
            let props = f.get("Properties").cloned().unwrap_or(Value::Null);
            let binary = f
                .pointer("/Metadata/BuildProperties/Binary")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{id}: Metadata.BuildProperties.Binary names the cargo binary; it is missing")))?
                .to_string();
            let number = |key: &str, default: u32| -> Result<u32> {
                match props.get(key).or_else(|| globals.get(key)) {
                    Some(v) => r.string(v)?.parse().map_err(|_| invalid(format!("{id}: {key} is not a number"))),
                    None => Ok(default),
                }
            };
            let mut environment = BTreeMap::new();
            for source in [globals.pointer("/Environment/Variables"), props.pointer("/Environment/Variables")].into_iter().flatten() {
                if let Some(vars) = source.as_object() {
                    for (k, v) in vars {
                        environment.insert(k.clone(), r.string(v)?);
                    }
                }
            }
            functions.insert(
                id.clone(),
                FunctionSpec {
                    logical_id: id.clone(),
                    binary,
                    memory_mb: number("MemorySize", 128)?,
                    timeout_secs: number("Timeout", 3)?,
                    environment,
                    dead_letter_queue: props.pointer("/DeadLetterQueue/TargetArn").map(|a| queue_of(&r, a)).transpose()?,
                },
            );
        }
        let http_api = match t
            .resources_of_type("AWS::ApiGatewayV2::Api")
            .find(|(_, a)| a.pointer("/Properties/ProtocolType").and_then(Value::as_str) == Some("HTTP"))
        {
            None => None,
            Some((http_id, api)) => {
                let routes = all_routes.remove(http_id).unwrap_or_default();
                let integ = t
                    .resources_of_type("AWS::ApiGatewayV2::Integration")
                    .find(|(_, i)| api_of(i).as_deref() == Some(http_id.as_str()))
                    .map(|(_, i)| i.get("Properties").cloned().unwrap_or(Value::Null))
                    .unwrap_or(Value::Null);
                let payload_format_version =
                    integ.get("PayloadFormatVersion").map(|v| r.string(v)).transpose()?.unwrap_or_else(|| "2.0".into());
                if payload_format_version != "2.0" {
                    return Err(invalid(format!("{http_id}: only PayloadFormatVersion 2.0 is supported locally")));
                }
                let timeout_ms =
                    integ.get("TimeoutInMillis").map(|v| r.string(v)).transpose()?.map(|v| v.parse().unwrap_or(30_000)).unwrap_or(30_000);
                let cors = api.pointer("/Properties/CorsConfiguration").map(|c| r.cors(c)).transpose()?;
                let stage = t
                    .resources_of_type("AWS::ApiGatewayV2::Stage")
                    .find(|(_, st)| api_of(st).as_deref() == Some(http_id.as_str()))
                    .map(|(_, st)| st.clone());
                let throttle = match stage.as_ref().and_then(|st| st.pointer("/Properties/DefaultRouteSettings")) {
                    Some(d) => {
                        let burst = d.get("ThrottlingBurstLimit").map(|v| r.string(v)).transpose()?.and_then(|v| v.parse().ok());
                        let rate = d.get("ThrottlingRateLimit").map(|v| r.string(v)).transpose()?.and_then(|v| v.parse().ok());
                        burst.zip(rate)
                    }
                    None => None,
                };
                Some(HttpApiSpec { logical_id: http_id.clone(), routes, payload_format_version, timeout_ms, cors, throttle })
            }
        };
        for (key, f) in routes.iter().chain(http_api.iter().flat_map(|h| h.routes.iter())) {
            if !functions.contains_key(f) {
                return Err(invalid(format!("route {key} targets {f}, which is not an AWS::Serverless::Function")));
            }
        }

        let tables = t
            .resources_of_type("AWS::DynamoDB::Table")
            .map(|(id, tb)| {
                let name = match tb.pointer("/Properties/TableName") {
                    Some(n) => r.string(n)?,
                    None => r.physical_name(id)?,
                };
                Ok(TableSpec { logical_id: id.clone(), name, properties: tb.get("Properties").cloned().unwrap_or(Value::Null) })
            })
            .collect::<Result<Vec<_>>>()?;
        let buckets = t
            .resources_of_type("AWS::S3::Bucket")
            .map(|(id, b)| match b.pointer("/Properties/BucketName") {
                Some(n) => r.string(n),
                None => r.physical_name(id),
            })
            .collect::<Result<Vec<_>>>()?;
        let topics = t.resources_of_type("AWS::SNS::Topic").map(|(id, _)| r.physical_name(id)).collect::<Result<Vec<_>>>()?;
        let queues = t.resources_of_type("AWS::SQS::Queue").map(|(id, _)| r.get_att(id, "QueueName")).collect::<Result<Vec<_>>>()?;
        let mut ssm_parameters: Vec<String> = functions
            .values()
            .flat_map(|f| f.environment.iter())
            .filter(|(k, v)| k.ends_with("_PARAM") && v.starts_with('/'))
            .map(|(_, v)| v.clone())
            .collect();
        ssm_parameters.sort();
        ssm_parameters.dedup();
        let ssm_parameter_vars: BTreeMap<String, String> = functions
            .values()
            .flat_map(|f| f.environment.iter())
            .filter(|(k, v)| k.ends_with("_PARAM") && v.starts_with('/'))
            .map(|(k, v)| (v.clone(), k.clone()))
            .collect();

        // DynamoDB stream event sources (SAM `Events: {Type: DynamoDB}`).
        let mut stream_sources = Vec::new();
        let mut sns_sources = Vec::new();
        let mut schedule_sources = Vec::new();
        for (id, f) in t.resources_of_type("AWS::Serverless::Function") {
            let Some(events) = f.pointer("/Properties/Events").and_then(Value::as_object) else { continue };
            for (name, ev) in events {
                if ev.get("Type").and_then(Value::as_str) == Some("Schedule") {
                    let expr = ev
                        .pointer("/Properties/Schedule")
                        .ok_or_else(|| invalid(format!("{id}.{name}: Schedule event without Schedule")))?;
                    let expression = r.string(expr)?;
                    let period_secs = chat::heartbeat::rate_seconds(&expression)
                        .ok_or_else(|| invalid(format!("{id}.{name}: only rate(N unit) schedules run locally, not {expression}")))?;
                    schedule_sources.push(ScheduleSourceSpec {
                        function: id.clone(),
                        name: format!("{id}{name}"),
                        expression,
                        period_secs,
                    });
                    continue;
                }
                if ev.get("Type").and_then(Value::as_str) == Some("SNS") {
                    let topic = ev.pointer("/Properties/Topic").ok_or_else(|| invalid(format!("{id}.{name}: SNS event without Topic")))?;
                    let topic_logical_id = topic
                        .get("Ref")
                        .and_then(Value::as_str)
                        .ok_or_else(|| invalid(format!("{id}.{name}: Topic must be !Ref <Topic>")))?
                        .to_string();
                    sns_sources.push(SnsSourceSpec { function: id.clone(), topic_arn: r.string(topic)?, topic_logical_id });
                    continue;
                }
                if ev.get("Type").and_then(Value::as_str) != Some("DynamoDB") {
                    continue;
                }
                let p = ev.get("Properties").cloned().unwrap_or(Value::Null);
                let table_logical_id = p
                    .pointer("/Stream/Fn::GetAtt/0")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(format!("{id}.{name}: Stream must be !GetAtt <Table>.StreamArn")))?
                    .to_string();
                let table_name = tables
                    .iter()
                    .find(|tb| tb.logical_id == table_logical_id)
                    .map(|tb| tb.name.clone())
                    .ok_or_else(|| invalid(format!("{id}.{name}: no table {table_logical_id}")))?;
                let num = |k: &str, d: i64| -> Result<i64> {
                    p.get(k)
                        .map(|v| r.string(v))
                        .transpose()?
                        .map(|v| v.parse().map_err(|_| invalid(format!("{id}.{name}: {k}"))))
                        .transpose()
                        .map(|o| o.unwrap_or(d))
                };
                stream_sources.push(StreamSourceSpec {
                    function: id.clone(),
                    table_logical_id,
                    table_name,
                    batch_size: num("BatchSize", 100)?.clamp(1, 10_000) as u32,
                    starting_position: p.get("StartingPosition").map(|v| r.string(v)).transpose()?.unwrap_or_else(|| "LATEST".into()),
                    maximum_retry_attempts: num("MaximumRetryAttempts", -1)?,
                    bisect_on_error: p.get("BisectBatchOnFunctionError").and_then(Value::as_bool).unwrap_or(false),
                    batching_window_secs: num("MaximumBatchingWindowInSeconds", 0)?.max(0) as u64,
                    on_failure_queue: p.pointer("/DestinationConfig/OnFailure/Destination").map(|a| queue_of(&r, a)).transpose()?,
                });
            }
        }

        Ok(StackSpec {
            websocket: WebSocketApiSpec {
                logical_id: api_id.clone(),
                route_selection_expression: selection,
                routes,
                throttle: ws_throttle,
                route_throttle,
            },
            stage_name,
            http_api,
            stream_sources,
            sns_sources,
            schedule_sources,
            functions,
            tables,
            buckets,
            topics,
            queues,
            ssm_parameters,
            ssm_parameter_vars,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
Parameters:
  StageName: { Type: String, Default: prod }
Globals:
  Function:
    MemorySize: 256
    Environment:
      Variables:
        TABLE: !Ref T1
        URL: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: { ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action }
  Integ:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      IntegrationUri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn1.Arn}/invocations"
  R1:
    Type: AWS::ApiGatewayV2::Route
    Properties: { ApiId: !Ref Api, RouteKey: $default, Target: !Join ["/", [integrations, !Ref Integ]] }
  R2:
    Type: AWS::ApiGatewayV2::Route
    Properties: { ApiId: !Ref Api, RouteKey: orphan }
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: { ApiId: !Ref Api, StageName: !Ref StageName }
  Http:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: HTTP
      CorsConfiguration: { AllowOrigins: !Split [",", "https://a.example, https://b.example"], AllowMethods: [GET], MaxAge: 60 }
  HttpInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties: { ApiId: !Ref Http, IntegrationUri: !GetAtt Fn1.Arn, PayloadFormatVersion: "2.0", TimeoutInMillis: 5000 }
  H1:
    Type: AWS::ApiGatewayV2::Route
    Properties: { ApiId: !Ref Http, RouteKey: "GET /things/{id}", Target: !Sub "integrations/${HttpInteg}" }
  HttpStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: { ApiId: !Ref Http, StageName: $default, DefaultRouteSettings: { ThrottlingBurstLimit: 5, ThrottlingRateLimit: 2.5 } }
  Fn2:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: fn2 } }
    Properties:
      Events:
        S: { Type: DynamoDB, Properties: { Stream: !GetAtt T1.StreamArn, StartingPosition: TRIM_HORIZON, BatchSize: 10, BisectBatchOnFunctionError: true } }
  Fn1:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: fn1 } }
    Properties:
      Timeout: 7
      Environment: { Variables: { ARN: !GetAtt T1.Arn, LIT: !Sub "${!NotSubbed}" } }
  T1:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
      AttributeDefinitions: [{ AttributeName: pk, AttributeType: S }]
      TimeToLiveSpecification: { AttributeName: ttl, Enabled: true }
"#;

    #[test]
    fn derives_routes_functions_and_tables() {
        let mut ctx = LocalContext::default();
        ctx.parameter_overrides.insert("StageName".into(), "local".into());
        let t = Template::parse(T, &ctx).unwrap();
        let s = StackSpec::from_template(&t, &ctx).unwrap();
        assert_eq!(s.stage_name, "local");
        assert_eq!(s.websocket.routes.get("$default").map(String::as_str), Some("Fn1"));
        assert!(!s.websocket.routes.contains_key("orphan"));
        let f = &s.functions["Fn1"];
        assert_eq!((f.binary.as_str(), f.memory_mb, f.timeout_secs), ("fn1", 256, 7));
        assert_eq!(f.environment["TABLE"], "chat-local-T1");
        assert_eq!(f.environment["URL"], "https://local.execute-api.us-east-1.amazonaws.com/local");
        assert_eq!(f.environment["ARN"], "arn:aws:dynamodb:us-east-1:000000000000:table/chat-local-T1");
        assert_eq!(f.environment["LIT"], "${NotSubbed}");
        assert_eq!(s.tables[0].ttl_attribute().as_deref(), Some("ttl"));
        assert_eq!(s.tables[0].key_schema(), vec![("pk".to_string(), "HASH".to_string())]);
        let h = s.http_api.as_ref().unwrap();
        assert_eq!(h.routes.get("GET /things/{id}").map(String::as_str), Some("Fn1"));
        assert_eq!((h.timeout_ms, h.throttle), (5000, Some((5, 2.5))));
        assert_eq!(h.cors.as_ref().unwrap().allow_origins, vec!["https://a.example", "https://b.example"]);
        assert!(!s.websocket.routes.contains_key("GET /things/{id}"));
        let src = &s.stream_sources[0];
        assert_eq!(
            (src.function.as_str(), src.table_name.as_str(), src.batch_size, src.maximum_retry_attempts, src.bisect_on_error),
            ("Fn2", "chat-local-T1", 10, -1, true)
        );
    }

    #[test]
    fn unknown_override_and_unknown_ref_are_errors() {
        let mut ctx = LocalContext::default();
        ctx.parameter_overrides.insert("Nope".into(), "x".into());
        assert!(Template::parse(T, &ctx).is_err());
        let ctx = LocalContext::default();
        let t = Template::parse(&T.replace("!Ref T1", "!Ref Missing"), &ctx).unwrap();
        let err = StackSpec::from_template(&t, &ctx).unwrap_err().to_string();
        assert!(err.contains("Missing"), "{err}");
    }
}
