//! The real binary's `policy`: exact JSON on stdout for each side, notes and errors on
//! stderr, exit codes, and no network at all.

mod common;
use common::*;

fn policy(h: &Helper, args: &[&str]) -> Out {
    let mut all = vec!["policy"];
    all.extend_from_slice(args);
    h.run(&all, "")
}

#[test]
fn owner_side_for_an_account_with_push() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let out = policy(&h, &["--consumer", "210987654321", "--push"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "EcrXacctPullPush",
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::210987654321:root"
      },
      "Action": [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
        "ecr:PutImage",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload"
      ]
    }
  ]
}
"#
    );
    assert!(fake.seen().is_empty());
}

#[test]
fn consumer_side_names_the_repository_arn() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let out = policy(
        &h,
        &[
            "--consumer",
            "arn:aws-cn:iam::210987654321:role/puller",
            "--side",
            "consumer",
            "--owner",
            "123456789012",
            "--region",
            "cn-north-1",
            "--repository",
            "team/app",
        ],
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(
        out.stdout,
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "EcrXacctToken",
      "Effect": "Allow",
      "Action": "ecr:GetAuthorizationToken",
      "Resource": "*"
    },
    {
      "Sid": "EcrXacctPull",
      "Effect": "Allow",
      "Action": [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability"
      ],
      "Resource": "arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/app"
    }
  ]
}
"#
    );
}

#[test]
fn an_assumed_role_session_is_noted_and_turned_into_its_role() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let out = policy(
        &h,
        &[
            "--consumer",
            "arn:aws:sts::210987654321:assumed-role/puller/ci-7",
        ],
    );
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stderr,
        "ecr-xacct: note: arn:aws:sts::210987654321:assumed-role/puller/ci-7 is a role session; the policy names its role, arn:aws:iam::210987654321:role/puller (add the role's path if it has one)\n"
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["Statement"][0]["Principal"],
        serde_json::json!({"AWS": "arn:aws:iam::210987654321:role/puller"})
    );
}

#[test]
fn bad_input_is_an_error_on_stderr() {
    let fake = FakeAws::start();
    let h = Helper::new(&fake);
    let cases: [(&[&str], &str); 4] = [
        (
            &["--consumer", "21098765432"],
            "ecr-xacct: policy --consumer \"21098765432\": not a 12-digit account id nor an IAM principal ARN (use e.g. 210987654321, arn:aws:iam::210987654321:role/NAME, arn:aws:iam::210987654321:user/NAME or arn:aws:sts::210987654321:assumed-role/ROLE/SESSION)\n",
        ),
        (
            &["--consumer", "arn:aws:iam::210987654321:group/devs"],
            "ecr-xacct: policy --consumer \"arn:aws:iam::210987654321:group/devs\": not a 12-digit account id nor an IAM principal ARN (use e.g. 210987654321, arn:aws:iam::210987654321:role/NAME, arn:aws:iam::210987654321:user/NAME or arn:aws:sts::210987654321:assumed-role/ROLE/SESSION)\n",
        ),
        (
            &["--consumer", "210987654321", "--side", "consumer"],
            "ecr-xacct: policy --side consumer: --owner is missing (name the account that holds the repository: --owner 123456789012)\n",
        ),
        (
            &["--consumer", "210987654321", "--owner", "12345"],
            "ecr-xacct: policy --owner \"12345\": not a 12-digit account id (the owner is the account that holds the repository)\n",
        ),
    ];
    for (args, stderr) in cases {
        let out = policy(&h, args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", stderr),
            "{args:?}"
        );
    }
    // Argument errors are clap's: exit 1 as for any bad command line.
    for args in [
        &[][..],
        &["--consumer", "210987654321", "--side", "both"][..],
    ] {
        let out = policy(&h, args);
        assert_eq!(out.code, 1, "{args:?}");
    }
}
