//! What only LocalStack can show (run by `make test-localstack`, with `AWS_ENDPOINT_URL` pointing
//! at it; without it these tests say so and pass, the embedded emulators being another target):
//! SNS consumers run once their subscriptions are confirmed, ARNs name the services' account, and
//! the template's resources deploy through LocalStack's CloudFormation.

use chat_tests::{direct, repo_root, uid, TestStack};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

fn localstack() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL").ok().filter(|u| !u.is_empty())
}

/// The stack's SNS subscriptions are confirmed (LocalStack, like SNS, delivers nothing before),
/// and an SNS consumer runs: a presence announcement goes through FanoutTopic to FanoutFunction.
#[tokio::test]
async fn sns_consumers_run_once_their_subscriptions_are_confirmed() {
    if localstack().is_none() {
        eprintln!("not on LocalStack (AWS_ENDPOINT_URL unset): make test-localstack runs this");
        return;
    }
    let s = TestStack::chat().await;
    let logs = s.logs();
    for f in ["FanoutFunction", "NotifyFunction"] {
        assert!(
            logs.contains(&format!("sns -> {f}: subscription to ")) && logs.contains("confirmed"),
            "{f}'s subscription was not confirmed:\n{logs}"
        );
    }
    let (alice, bob) = (uid("alice"), uid("bob"));
    let mut a = s.user(&alice).await;
    direct(&mut a, &bob).await;
    let b = s.user(&bob).await;
    a.expect(|f| f["type"] == "presence" && f["userId"] == json!(bob) && f["online"] == json!(true)).await;
    b.close(1000, "bye").await;
    a.expect(|f| f["type"] == "presence" && f["userId"] == json!(bob) && f["online"] == json!(false)).await;
    assert!(s.logs().contains("sns -> FanoutFunction"), "the announcement went through SNS to FanoutFunction");
    // The topics' ARNs name the account LocalStack runs under.
    let topic = &s.stack.spec.functions["MessageFunction"].environment["FANOUT_TOPIC_ARN"];
    assert_eq!(
        topic.split(':').nth(4),
        chat_tests::chat_dev::provision::account_id(&chat_tests::chat_dev::provision::Clients::new(&s.aws.clone().unwrap()).await)
            .await
            .as_deref()
    );
}

/// Every resource of the template but what LocalStack's free edition cannot create (functions,
/// API Gateway v2, CloudFront and what refers to them) is deployed through its CloudFormation, SAM transform
/// included, and the tables, topics and bucket exist as declared.
#[tokio::test]
async fn the_templates_resources_deploy_through_cloudformation() {
    let Some(endpoint) = localstack() else {
        eprintln!("not on LocalStack (AWS_ENDPOINT_URL unset): make test-localstack runs this");
        return;
    };
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    let mut doc = chat_tests::chat_dev::template::template_json(&text).unwrap();
    let resources = doc["Resources"].as_object().unwrap().clone();
    let unsupported = |ty: &str| {
        ty == "AWS::Serverless::Function"
            || ty.starts_with("AWS::ApiGatewayV2::")
            || ty == "AWS::Lambda::Permission"
            || ty == "AWS::ApiGateway::Account"
            || ty.starts_with("AWS::CloudFront::")
    };
    let mut removed: BTreeSet<String> =
        resources.iter().filter(|(_, r)| unsupported(r["Type"].as_str().unwrap_or(""))).map(|(k, _)| k.clone()).collect();
    // Whatever refers to a removed resource goes too (Ref, GetAtt, Sub, DependsOn), to a fixpoint.
    let refers = |v: &Value, gone: &BTreeSet<String>| {
        let t = v.to_string();
        gone.iter().any(|id| t.contains(&format!("\"{id}\"")) || t.contains(&format!("${{{id}}}")) || t.contains(&format!("${{{id}.")))
    };
    loop {
        let more: Vec<String> =
            resources.iter().filter(|(k, r)| !removed.contains(*k) && refers(r, &removed)).map(|(k, _)| k.clone()).collect();
        if more.is_empty() {
            break;
        }
        removed.extend(more);
    }
    let kept: serde_json::Map<String, Value> = resources.into_iter().filter(|(k, _)| !removed.contains(k)).collect();
    let kept_types: BTreeSet<String> = kept.values().map(|r| r["Type"].as_str().unwrap().to_string()).collect();
    for ty in ["AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::S3::Bucket"] {
        assert!(kept_types.contains(ty), "{ty} was left out: {kept_types:?}");
    }
    let tables: Vec<String> = kept.iter().filter(|(_, r)| r["Type"] == "AWS::DynamoDB::Table").map(|(k, _)| k.clone()).collect();
    doc["Resources"] = Value::Object(kept);
    doc.as_object_mut().unwrap().remove("Globals");
    let outputs: serde_json::Map<String, Value> =
        doc["Outputs"].as_object().cloned().unwrap_or_default().into_iter().filter(|(_, o)| !refers(o, &removed)).collect();
    doc["Outputs"] = Value::Object(outputs);

    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(&endpoint)
        .load()
        .await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let name = uid("chat-cfn-");
    cfn.create_stack()
        .stack_name(&name)
        .template_body(doc.to_string())
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityAutoExpand)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateStack: {}", aws_sdk_cloudformation::error::DisplayErrorContext(&e)));
    // Until it is no longer in progress (LocalStack creates a dozen tables: more than the usual wait).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let status = loop {
        let d = cfn.describe_stacks().stack_name(&name).send().await.unwrap();
        let s = d.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_string()).unwrap_or_default();
        if !s.ends_with("_IN_PROGRESS") {
            break s;
        }
        assert!(tokio::time::Instant::now() < deadline, "the stack is still {s} after 180 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if status != "CREATE_COMPLETE" {
        let events = cfn.describe_stack_events().stack_name(&name).send().await.unwrap();
        let failed: Vec<String> = events
            .stack_events()
            .iter()
            .filter(|e| e.resource_status().is_some_and(|s| s.as_str().ends_with("FAILED")))
            .map(|e| format!("{}: {}", e.logical_resource_id().unwrap_or(""), e.resource_status_reason().unwrap_or("")))
            .collect();
        panic!("the stack ended {status}: {failed:#?}");
    }
    let made = cfn.describe_stack_resources().stack_name(&name).send().await.unwrap();
    let made: BTreeSet<String> = made.stack_resources().iter().filter_map(|r| r.logical_resource_id().map(str::to_string)).collect();
    for t in &tables {
        assert!(made.contains(t), "{t} was not created: {made:?}");
    }
    cfn.delete_stack().stack_name(&name).send().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(60), async {
        chat_tests::eventually("the stack deleted", || async {
            let d = cfn.describe_stacks().stack_name(&name).send().await;
            d.map(|d| d.stacks().first().and_then(|s| s.stack_status()).is_none_or(|s| s.as_str() == "DELETE_COMPLETE"))
                .unwrap_or(true)
                .then_some(())
        })
        .await
    })
    .await;
}
